using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.Outputs;

/// <summary>
/// Turns engine-core outputs (token ids per child request) into what callers see (vLLM v1's
/// <c>OutputProcessor</c>): incremental detokenization, stop strings with holdback, finish
/// reasons, Cumulative/Delta/FinalOnly outputs, and n &gt; 1 aggregation into one
/// <see cref="RequestOutput"/> per user request per step. Not thread-safe: one output loop owns it.
/// </summary>
public sealed class OutputProcessor
{
    private readonly ITokenizer _tokenizer;
    private readonly Dictionary<string, RequestState> _requests = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (RequestState Parent, CompletionState Child)> _children = new(StringComparer.Ordinal);
    private readonly List<RequestState> _toReport = [];

    public OutputProcessor(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
    }

    /// <summary>User requests not yet finished or aborted.</summary>
    public int NumUnfinishedRequests => _requests.Count;

    /// <summary>
    /// Registers a user request with one completion per entry of <paramref name="childRequestIds"/>
    /// (child i is completion index i; for n = 1 the child id may equal <paramref name="requestId"/>).
    /// <paramref name="prompt"/> is null when the prompt was given as token ids.
    /// </summary>
    public void AddRequest(
        string requestId, string? prompt, IReadOnlyList<int> promptTokenIds, SamplingParams samplingParams,
        double arrivalTime, IReadOnlyList<string> childRequestIds)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        ArgumentNullException.ThrowIfNull(promptTokenIds);
        ArgumentNullException.ThrowIfNull(samplingParams);
        ArgumentNullException.ThrowIfNull(childRequestIds);
        if (childRequestIds.Count == 0)
        {
            throw new ArgumentException("A request needs at least one child request id.", nameof(childRequestIds));
        }

        if (_requests.ContainsKey(requestId))
        {
            throw new ArgumentException($"Request id '{requestId}' is already running.", nameof(requestId));
        }

        foreach (string childId in childRequestIds)
        {
            if (_children.ContainsKey(childId))
            {
                throw new ArgumentException($"Child request id '{childId}' is already running.", nameof(childRequestIds));
            }
        }

        var state = new RequestState(requestId, prompt, promptTokenIds, samplingParams, arrivalTime, childRequestIds, _tokenizer);
        foreach (CompletionState child in state.Children)
        {
            if (!_children.TryAdd(child.ChildRequestId, (state, child)))
            {
                throw new ArgumentException($"Child request id '{child.ChildRequestId}' is listed twice.", nameof(childRequestIds));
            }
        }

        _requests.Add(requestId, state);
    }

    /// <summary>
    /// Applies one engine step's outputs (keyed by child request id) observed at time
    /// <paramref name="now"/>. Returns one <see cref="RequestOutput"/> per user request with
    /// something to report, in the order the requests first appear in <paramref name="outputs"/>,
    /// and the child ids a stop string finished, which the engine core must abort. Outputs for
    /// unknown, finished or aborted ids are ignored: they can race with an abort.
    /// </summary>
    public ProcessedOutputs ProcessOutputs(IReadOnlyList<EngineCoreOutput> outputs, double now)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        List<string>? toAbort = null;
        _toReport.Clear();
        for (int i = 0; i < outputs.Count; i++)
        {
            EngineCoreOutput output = outputs[i];
            if (!_children.TryGetValue(output.RequestId, out var entry) || entry.Child.IsFinished)
            {
                continue;
            }

            if (entry.Parent.Update(entry.Child, output, now))
            {
                (toAbort ??= []).Add(entry.Child.ChildRequestId);
            }

            if (!entry.Parent.PendingReport)
            {
                entry.Parent.PendingReport = true;
                _toReport.Add(entry.Parent);
            }
        }

        if (_toReport.Count == 0 && toAbort is null)
        {
            return ProcessedOutputs.Empty;
        }

        var requestOutputs = new List<RequestOutput>(_toReport.Count);
        foreach (RequestState state in _toReport)
        {
            state.PendingReport = false;
            if (state.MakeOutput() is { } requestOutput)
            {
                requestOutputs.Add(requestOutput);
            }

            if (state.IsFinished)
            {
                Forget(state);
            }
        }

        _toReport.Clear();
        return new ProcessedOutputs(requestOutputs, toAbort is null ? [] : toAbort);
    }

    /// <summary>
    /// Forgets the given user requests and their children; unknown ids are ignored. Returns the
    /// child ids that were still unfinished, which the engine core must abort (vLLM's
    /// <c>abort_requests</c> returns the same).
    /// </summary>
    public IReadOnlyList<string> AbortRequests(IEnumerable<string> requestIds)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        List<string> childrenToAbort = [];
        foreach (string requestId in requestIds)
        {
            if (!_requests.TryGetValue(requestId, out RequestState? state))
            {
                continue;
            }

            foreach (CompletionState child in state.Children)
            {
                if (!child.IsFinished)
                {
                    childrenToAbort.Add(child.ChildRequestId);
                }
            }

            Forget(state);
        }

        return childrenToAbort;
    }

    private void Forget(RequestState state)
    {
        _requests.Remove(state.RequestId);
        foreach (CompletionState child in state.Children)
        {
            _children.Remove(child.ChildRequestId);
        }
    }
}
