namespace VllmSharp.Core.Sampling;

/// <summary>What each streamed output holds (vLLM's RequestOutputKind).</summary>
public enum RequestOutputKind
{
    /// <summary>Everything generated so far, every time.</summary>
    Cumulative,
    /// <summary>Only what is new since the last output.</summary>
    Delta,
    /// <summary>One output, when the request finishes.</summary>
    FinalOnly,
}
