using Microsoft.Extensions.Logging;
using VllmSharp.Server.Endpoints.Chat.ToolCalls;

namespace VllmSharp.Server;

/// <summary>The HTTP server's own flags (vLLM's names and defaults); engine flags live in EngineArgs.</summary>
public sealed record ServerArgs
{
    /// <summary>--host: the address to bind (vLLM binds all interfaces by default).</summary>
    public string Host { get; init; } = "0.0.0.0";
    /// <summary>--port (8000; 0 picks a free port).</summary>
    public int Port { get; init; } = 8000;
    /// <summary>--served-model-name: the names clients use; the first is reported in responses.</summary>
    public IReadOnlyList<string> ServedModelNames { get; init; } = [];
    /// <summary>--api-key (or VLLM_API_KEY): required as a Bearer token on /v1/* when set.</summary>
    public string? ApiKey { get; init; }
    /// <summary>--chat-template: a template file, or the template text itself; null uses the model's.</summary>
    public string? ChatTemplate { get; init; }
    /// <summary>--generation-config: auto (the model folder's generation_config.json), vllm (ignore it), or a folder.</summary>
    public string GenerationConfig { get; init; } = "auto";
    /// <summary>--disable-log-requests: no "Received request" line per request.</summary>
    public bool DisableLogRequests { get; init; }
    /// <summary>--disable-uvicorn-access-log: no access line per HTTP request.</summary>
    public bool DisableAccessLog { get; init; }
    /// <summary>
    /// --uvicorn-log-level / --log-level as the minimum log level. The library default is Warning (quiet when
    /// embedded, e.g. in tests); the serve command defaults to Information as vLLM does.
    /// </summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Warning;
    /// <summary>--allowed-origins / --allowed-methods / --allowed-headers / --allow-credentials (vLLM's CORS defaults: all, no credentials).</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = ["*"];
    public IReadOnlyList<string> AllowedMethods { get; init; } = ["*"];
    public IReadOnlyList<string> AllowedHeaders { get; init; } = ["*"];
    public bool AllowCredentials { get; init; }
    /// <summary>--rate-limit-interval (seconds) and --rate-limit-token (requests per interval per client); off unless both are set.</summary>
    public double? RateLimitInterval { get; init; }
    public int? RateLimitToken { get; init; }
    /// <summary>
    /// --max-waiting-requests (ours; vLLM has none): at most this many generation requests wait behind the
    /// engine's --max-num-seqs running ones; the next gets 503 (see <c>Middleware.RequestQueueLimit</c>). Null: unlimited.
    /// </summary>
    public int? MaxWaitingRequests { get; init; }
    /// <summary>--enable-auto-tool-choice, --tool-call-parser, --exclude-tools-when-tool-choice-none.</summary>
    public ToolCallOptions ToolCalling { get; init; } = new();
    /// <summary>How long a shutdown waits for in-flight requests before aborting them.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
