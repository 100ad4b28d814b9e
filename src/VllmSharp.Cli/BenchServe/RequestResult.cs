namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// What the client saw of one streamed request (vLLM's RequestFuncOutput). Times are seconds; <see cref="StartTime"/>
/// is relative to the benchmark start, TTFT and latency relative to the request's own start.
/// </summary>
public sealed class RequestResult
{
    public bool Success { get; set; }
    public string Error { get; set; } = "";
    public int PromptLen { get; set; }
    public double StartTime { get; set; }
    /// <summary>Time to the first chunk that carried generated text.</summary>
    public double Ttft { get; set; }
    /// <summary>Gaps between consecutive content chunks.</summary>
    public List<double> Itl { get; } = [];
    /// <summary>End-to-end latency: request sent → stream finished.</summary>
    public double Latency { get; set; }
    /// <summary>completion_tokens from the usage chunk, or null when the server sent none.</summary>
    public int? UsageOutputTokens { get; set; }
    public int ContentChunks { get; set; }
    public string GeneratedText { get; set; } = "";
}
