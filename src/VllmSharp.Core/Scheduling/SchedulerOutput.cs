namespace VllmSharp.Core.Scheduling;

/// <summary>What one step computes (vLLM v1's SchedulerOutput), plus the requests the model runner can forget.</summary>
public sealed record SchedulerOutput(
    IReadOnlyList<ScheduledRequest> ScheduledRequests,
    int TotalNumScheduledTokens,
    IReadOnlyList<string> FinishedRequestIds,
    IReadOnlyList<string> PreemptedRequestIds)
{
    public bool IsEmpty => ScheduledRequests.Count == 0;
}
