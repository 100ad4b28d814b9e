using VllmSharp.Core.Config;
using VllmSharp.Core.Errors;
using VllmSharp.Core.KVCache;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Sampling;
using VllmSharp.Core.Scheduling;
using Xunit;

namespace VllmSharp.Core.Tests.Scheduling;

/// <summary>The scheduler against a fake model runner that "samples" a fixed token for every row that needs one.</summary>
public sealed class SchedulerTests
{
    private const int BlockSize = 4;

    private static Scheduler Create(int numBlocks = 64, int budget = 16, int maxSeqs = 8, int maxModelLen = 64,
        bool chunked = true, SchedulingPolicy policy = SchedulingPolicy.Fcfs)
        => new(new SchedulerConfig
        {
            MaxNumBatchedTokens = budget, MaxNumSeqs = maxSeqs, MaxModelLen = maxModelLen,
            EnableChunkedPrefill = chunked, Policy = policy,
        }, new KVCacheManager(numBlocks, BlockSize, enablePrefixCaching: false));

    private static Request Req(string id, int promptLength, int maxTokens = 8, SamplingParams? p = null, int priority = 0, double arrival = 0, int[]? eos = null)
        => new(id, Enumerable.Range(100, promptLength).ToArray(), p ?? new SamplingParams(), maxTokens, eos ?? [], BlockSize, arrival, priority);

    /// <summary>One step with a fake runner that samples <paramref name="token"/> wherever a token is due.</summary>
    private static (SchedulerOutput Batch, IReadOnlyList<EngineCoreOutput> Outputs) Step(Scheduler scheduler, int token = 7)
    {
        SchedulerOutput batch = scheduler.Schedule();
        int[] ids = batch.ScheduledRequests.Select(s => s.SamplesToken ? token : -1).ToArray();
        return (batch, scheduler.Update(batch, new ModelRunnerOutput(ids, new float[ids.Length])));
    }

    private static Dictionary<string, int> Tokens(SchedulerOutput batch) => batch.ScheduledRequests.ToDictionary(s => s.Request.RequestId, s => s.NumScheduledTokens);

    [Fact]
    public void Schedule_TokenBudget_ChunksThePromptThatDoesNotFit()
    {
        Scheduler scheduler = Create(budget: 16);
        scheduler.AddRequest(Req("a", 10));
        scheduler.AddRequest(Req("b", 10));
        scheduler.AddRequest(Req("c", 10));
        var (batch, outputs) = Step(scheduler);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 10, ["b"] = 6 }, Tokens(batch));
        Assert.Equal(16, batch.TotalNumScheduledTokens);
        Assert.Equal(["a"], outputs.Select(o => o.RequestId)); // b's chunk samples nothing yet

        (batch, _) = Step(scheduler);
        // Running first: a decodes 1, b finishes its prompt (4), then c starts with what is left (11 > 10).
        Assert.Equal(new Dictionary<string, int> { ["a"] = 1, ["b"] = 4, ["c"] = 10 }, Tokens(batch));
    }

    [Fact]
    public void Schedule_ChunkedPrefillDisabled_PromptWaitsForAWholeBudget()
    {
        Scheduler scheduler = Create(budget: 64, chunked: false);
        scheduler.AddRequest(Req("a", 40));
        scheduler.AddRequest(Req("b", 30));
        var (batch, _) = Step(scheduler);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 40 }, Tokens(batch));
        Assert.Equal(1, scheduler.NumWaiting);
    }

    [Fact]
    public void Schedule_MaxNumSeqs_LimitsRunningRequests()
    {
        Scheduler scheduler = Create(budget: 100, maxSeqs: 2);
        for (int i = 0; i < 4; i++) scheduler.AddRequest(Req($"r{i}", 3));
        var (batch, _) = Step(scheduler);
        Assert.Equal(2, batch.ScheduledRequests.Count);
        Assert.Equal(2, scheduler.NumRunning);
        Assert.Equal(2, scheduler.NumWaiting);
    }

    [Fact]
    public void Schedule_OutOfBlocks_PreemptsLatestRequestByRecompute()
    {
        // 4 blocks of 4 tokens; two prompts of 8 tokens fill them; the next decode token needs a fifth block.
        Scheduler scheduler = Create(numBlocks: 4, budget: 32);
        scheduler.AddRequest(Req("a", 8));
        scheduler.AddRequest(Req("b", 8));
        Step(scheduler);
        Assert.Equal(0, scheduler.KVCacheManager.NumFreeBlocks);

        var (batch, _) = Step(scheduler);
        Assert.Equal(["b"], batch.PreemptedRequestIds);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 1 }, Tokens(batch));
        Assert.Equal(1, scheduler.NumWaiting);
        Assert.Equal(1, scheduler.NumRunning);
    }

    [Fact]
    public void Schedule_PreemptedRequest_RecomputesPromptAndOutputLater()
    {
        Scheduler scheduler = Create(numBlocks: 4, budget: 32);
        Request a = Req("a", 8, maxTokens: 2), b = Req("b", 8, maxTokens: 2);
        scheduler.AddRequest(a);
        scheduler.AddRequest(b);
        Step(scheduler);   // both prefilled, one token each
        Step(scheduler);   // b preempted; a finishes (2 tokens) and frees its blocks
        Assert.True(a.IsFinished);
        Assert.Equal(RequestStatus.Preempted, b.Status);
        Assert.Equal(0, b.NumComputedTokens);
        Assert.Equal(1, b.NumPreemptions);

        var (batch, outputs) = Step(scheduler);
        Assert.Equal(new Dictionary<string, int> { ["b"] = 9 }, Tokens(batch)); // prompt + its first output token
        Assert.Equal(RequestStatus.FinishedLengthCapped, Assert.Single(outputs).FinishStatus);
        Assert.Equal(4, scheduler.KVCacheManager.NumFreeBlocks);
    }

    [Fact]
    public void Schedule_PriorityPolicy_ServesLowestValueFirstAndPreemptsHighest()
    {
        Scheduler scheduler = Create(numBlocks: 4, budget: 32, maxSeqs: 2, policy: SchedulingPolicy.Priority);
        scheduler.AddRequest(Req("low", 8, priority: 5, arrival: 0));
        scheduler.AddRequest(Req("high", 8, priority: 0, arrival: 1));
        scheduler.AddRequest(Req("mid", 8, priority: 2, arrival: 2));
        var (batch, _) = Step(scheduler);
        Assert.Equal(["high", "mid"], batch.ScheduledRequests.Select(s => s.Request.RequestId));

        (batch, _) = Step(scheduler); // out of blocks: the least important running request (mid) goes
        Assert.Equal(["mid"], batch.PreemptedRequestIds);
    }

    [Fact]
    public void FinishRequests_AbortWaitingAndRunning_FreesEverything()
    {
        Scheduler scheduler = Create(budget: 8);
        scheduler.AddRequest(Req("run", 6));
        scheduler.AddRequest(Req("wait", 6));
        Step(scheduler);
        scheduler.FinishRequests(["run", "wait", "unknown"], RequestStatus.FinishedAborted);
        Assert.False(scheduler.HasUnfinishedRequests);
        Assert.Equal(64, scheduler.KVCacheManager.NumFreeBlocks);
        Assert.Equal(["run", "wait"], scheduler.Schedule().FinishedRequestIds.Order());
    }

    [Fact]
    public void AddRequest_PromptAtMaxModelLen_Rejected()
    {
        Scheduler scheduler = Create(maxModelLen: 16);
        Assert.Throws<ContextLengthExceededException>(() => scheduler.AddRequest(Req("x", 16)));
        Assert.False(scheduler.HasUnfinishedRequests);
    }

    [Fact]
    public void Update_StopConditions_FollowVllmOrder()
    {
        Scheduler scheduler = Create(budget: 64);
        Request eos = Req("eos", 3, eos: [7]);
        Request ignore = Req("ignore", 3, maxTokens: 2, p: new SamplingParams { IgnoreEos = true }, eos: [7]);
        Request minTokens = Req("min", 3, maxTokens: 5, p: new SamplingParams { MinTokens = 2 }, eos: [7]);
        Request stopId = Req("stopid", 3, p: new SamplingParams { StopTokenIds = [7] });
        foreach (Request r in new[] { eos, ignore, minTokens, stopId }) scheduler.AddRequest(r);

        var (_, outputs) = Step(scheduler, token: 7);
        var byId = outputs.ToDictionary(o => o.RequestId);
        Assert.Equal(RequestStatus.FinishedStopped, byId["eos"].FinishStatus);
        Assert.Null(byId["eos"].StopReason);
        Assert.Null(byId["ignore"].FinishStatus);
        Assert.Null(byId["min"].FinishStatus);
        Assert.Equal(RequestStatus.FinishedStopped, byId["stopid"].FinishStatus);
        Assert.Equal(7, byId["stopid"].StopReason);

        (_, outputs) = Step(scheduler, token: 7);
        byId = outputs.ToDictionary(o => o.RequestId);
        Assert.Equal(RequestStatus.FinishedLengthCapped, byId["ignore"].FinishStatus);
        Assert.Equal(RequestStatus.FinishedStopped, byId["min"].FinishStatus);
        Assert.Equal(64, scheduler.KVCacheManager.NumFreeBlocks);
    }
}
