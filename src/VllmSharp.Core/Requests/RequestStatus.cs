namespace VllmSharp.Core.Requests;

/// <summary>Where a request is in its life (vLLM's RequestStatus).</summary>
public enum RequestStatus
{
    Waiting,
    Running,
    Preempted,
    FinishedStopped,
    FinishedLengthCapped,
    FinishedAborted,
    FinishedIgnored,
}

public static class RequestStatusExtensions
{
    public static bool IsFinished(this RequestStatus status) => status >= RequestStatus.FinishedStopped;

    /// <summary>OpenAI's finish_reason for a finished status: "stop", "length", "abort", or null while running.</summary>
    public static string? FinishReason(this RequestStatus status) => status switch
    {
        RequestStatus.FinishedStopped => "stop",
        RequestStatus.FinishedLengthCapped or RequestStatus.FinishedIgnored => "length",
        RequestStatus.FinishedAborted => "abort",
        _ => null,
    };
}
