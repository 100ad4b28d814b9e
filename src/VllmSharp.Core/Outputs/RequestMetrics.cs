namespace VllmSharp.Core.Outputs;

/// <summary>Timestamps of a request in seconds (monotonic clock), as vLLM's RequestMetrics.</summary>
public sealed record RequestMetrics
{
    public required double ArrivalTime { get; init; }
    public double? FirstScheduledTime { get; init; }
    public double? FirstTokenTime { get; init; }
    public double? LastTokenTime { get; init; }
    public double? FinishedTime { get; init; }
}
