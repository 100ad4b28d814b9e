using VllmSharp.Core.Config;
using VllmSharp.Core.Errors;
using VllmSharp.Core.KVCache;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Requests;

namespace VllmSharp.Core.Scheduling;

/// <summary>
/// vLLM v1's scheduler: every step it hands out a token budget, running requests first (decode tokens or the next
/// prefill chunk), then waiting ones (prefix-cache hits skip their cached blocks), and preempts by recompute when
/// the KV cache runs out of blocks. One scheduling model covers prefill, chunked prefill, decode and cache hits:
/// each request just has "tokens still to compute" = NumTokens − NumComputedTokens. Single-threaded (the engine
/// core's loop owns it).
/// </summary>
public sealed class Scheduler
{
    private readonly SchedulerConfig _config;
    private readonly WaitingQueue _waiting;
    private readonly List<Request> _running = [];
    private readonly Dictionary<string, Request> _requests = [];
    private readonly List<string> _finishedIds = [];

    public SchedulerConfig Config => _config;

    public Scheduler(SchedulerConfig config, KVCacheManager kvCacheManager)
    {
        config.Validate();
        _config = config;
        KVCacheManager = kvCacheManager;
        _waiting = new WaitingQueue(config.Policy);
    }

    public KVCacheManager KVCacheManager { get; }
    public int NumWaiting => _waiting.Count;
    public int NumRunning => _running.Count;
    public bool HasUnfinishedRequests => _requests.Count > 0;
    /// <summary>Requests that finished since the last step (the model runner forgets them).</summary>
    public bool HasFinishedRequestIds => _finishedIds.Count > 0;

    public void AddRequest(Request request)
    {
        if (request.NumPromptTokens >= _config.MaxModelLen)
            throw new ContextLengthExceededException(
                $"The prompt has {request.NumPromptTokens} tokens, but the model's maximum length is {_config.MaxModelLen} (prompt plus at least one generated token).");
        if (!_requests.TryAdd(request.RequestId, request))
            throw new InvalidRequestException($"Request id '{request.RequestId}' is already in use.", "request_id");
        request.Status = RequestStatus.Waiting;
        _waiting.Add(request);
    }

    public SchedulerOutput Schedule()
    {
        int budget = _config.MaxNumBatchedTokens;
        var scheduled = new List<ScheduledRequest>();
        var preempted = new List<string>();

        // 1. Running requests, in order; each gets what it still needs, within the budget.
        for (int i = 0; i < _running.Count && budget > 0;)
        {
            Request request = _running[i];
            int numNew = Math.Min(request.NumTokens - request.NumComputedTokens, budget);
            numNew = Math.Min(numNew, _config.MaxModelLen - request.NumComputedTokens);
            if (numNew <= 0)
            {
                i++;
                continue;
            }
            bool allocated = false;
            while (true)
            {
                if (KVCacheManager.AllocateSlots(request, numNew) is not null)
                {
                    allocated = true;
                    break;
                }
                Request victim = PickVictim();
                int victimIndex = _running.IndexOf(victim);
                if (victimIndex < i)
                {
                    // Already scheduled this step (priority policy): take its tokens back.
                    int k = scheduled.FindIndex(s => s.Request == victim);
                    budget += scheduled[k].NumScheduledTokens;
                    scheduled.RemoveAt(k);
                    i--;
                }
                Preempt(victim);
                preempted.Add(victim.RequestId);
                if (victim == request) break;
            }
            if (!allocated) break; // the request itself was preempted; later running ones keep what they have
            scheduled.Add(Schedule(request, numNew));
            budget -= numNew;
            i++;
        }

        // 2. Waiting requests, if nothing had to be preempted this step.
        while (preempted.Count == 0 && budget > 0 && _running.Count < _config.MaxNumSeqs && _waiting.Peek() is { } request)
        {
            (IReadOnlyList<KVCacheBlock> cachedBlocks, int numCached) = request.NumComputedTokens == 0
                ? KVCacheManager.GetComputedBlocks(request)
                : ([], 0);
            int numNew = request.NumTokens - request.NumComputedTokens - numCached;
            if (!_config.EnableChunkedPrefill && numNew > budget) break;
            numNew = Math.Min(numNew, budget);
            if (KVCacheManager.AllocateSlots(request, numNew, numCached, cachedBlocks) is null) break;

            _waiting.PopFront();
            _running.Add(request);
            request.Status = RequestStatus.Running;
            request.NumComputedTokens += numCached;
            if (request.NumCachedTokens < 0) request.NumCachedTokens = numCached;
            scheduled.Add(Schedule(request, numNew));
            budget -= numNew;
        }

        var output = new SchedulerOutput(scheduled, _config.MaxNumBatchedTokens - budget, [.. _finishedIds], preempted);
        _finishedIds.Clear();
        return output;
    }

    /// <summary>Records the step's scheduled tokens as computed (vLLM does this right after scheduling).</summary>
    private ScheduledRequest Schedule(Request request, int numNew)
    {
        var item = new ScheduledRequest(request, request.NumComputedTokens, numNew, KVCacheManager.GetBlockIds(request.RequestId));
        request.NumComputedTokens += numNew;
        return item;
    }

    /// <summary>FCFS preempts the most recently started request; the priority policy the least important one.</summary>
    private Request PickVictim()
    {
        if (_config.Policy == SchedulingPolicy.Fcfs) return _running[^1];
        Request victim = _running[0];
        foreach (Request r in _running)
            if (WaitingQueue.Compare(r, victim) > 0) victim = r;
        return victim;
    }

    private void Preempt(Request victim)
    {
        _running.Remove(victim);
        KVCacheManager.Free(victim);
        victim.Status = RequestStatus.Preempted;
        victim.NumComputedTokens = 0;
        victim.NumPreemptions++;
        _waiting.AddPreempted(victim);
    }

    /// <summary>Appends the sampled tokens, applies the stop conditions the core owns, frees finished requests.</summary>
    public IReadOnlyList<EngineCoreOutput> Update(SchedulerOutput schedulerOutput, ModelRunnerOutput runnerOutput)
    {
        var outputs = new List<EngineCoreOutput>(schedulerOutput.ScheduledRequests.Count);
        for (int i = 0; i < schedulerOutput.ScheduledRequests.Count; i++)
        {
            ScheduledRequest item = schedulerOutput.ScheduledRequests[i];
            Request request = item.Request;
            int token = runnerOutput.SampledTokenIds[i];
            if (token < 0 || request.IsFinished || request.Status != RequestStatus.Running) continue; // prefill chunk, or aborted meanwhile
            request.AppendOutputToken(token);
            bool stopped = CheckStop(request);
            int cached = request.NumOutputTokens == 1 ? Math.Max(request.NumCachedTokens, 0) : 0;
            outputs.Add(new EngineCoreOutput(request.RequestId, [token], stopped ? request.Status : null, request.StopReason,
                runnerOutput.SampledLogprobs[i], cached)
            {
                NewLogprobs = runnerOutput.Logprobs?[i] is { } lp ? [lp] : null,
                PromptLogprobs = runnerOutput.PromptLogprobs?[i],
            });
            if (stopped) Finish(request);
        }
        return outputs;
    }

    /// <summary>vLLM's check_stop: length first, then (after min_tokens) EOS unless ignored, then stop token ids.</summary>
    private bool CheckStop(Request request)
    {
        if (request.NumTokens >= _config.MaxModelLen || request.NumOutputTokens >= request.MaxTokens)
        {
            request.Status = RequestStatus.FinishedLengthCapped;
            return true;
        }
        if (request.NumOutputTokens < request.SamplingParams.MinTokens) return false;
        int last = request.OutputTokenId(request.NumOutputTokens - 1);
        if (!request.SamplingParams.IgnoreEos && request.EosTokenIds.Contains(last))
        {
            request.Status = RequestStatus.FinishedStopped;
            return true;
        }
        foreach (int stop in request.SamplingParams.StopTokenIds)
        {
            if (stop != last) continue;
            request.Status = RequestStatus.FinishedStopped;
            request.StopReason = last;
            return true;
        }
        return false;
    }

    /// <summary>Ends requests from outside the step (abort, or a stop string found by the output processor).</summary>
    public void FinishRequests(IEnumerable<string> requestIds, RequestStatus status)
    {
        foreach (string id in requestIds)
        {
            if (!_requests.TryGetValue(id, out Request? request) || request.IsFinished) continue;
            if (request.Status == RequestStatus.Running) _running.Remove(request);
            else _waiting.Remove(request);
            request.Status = status;
            Finish(request);
        }
    }

    private void Finish(Request request)
    {
        _running.Remove(request);
        KVCacheManager.Free(request);
        _requests.Remove(request.RequestId);
        _finishedIds.Add(request.RequestId);
    }
}
