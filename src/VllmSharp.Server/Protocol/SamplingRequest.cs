using System.Text.Json;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Sampling;

namespace VllmSharp.Server.Protocol;

/// <summary>OpenAI's <c>stream_options</c> (vLLM adds <c>continuous_usage_stats</c>).</summary>
public sealed record StreamOptions(bool? IncludeUsage, bool? ContinuousUsageStats);

/// <summary>
/// The sampling fields shared by <c>/v1/completions</c> and <c>/v1/chat/completions</c> (OpenAI's plus vLLM's extras),
/// and their mapping onto <see cref="SamplingParams"/>.
/// </summary>
public abstract record SamplingRequest
{
    public string? Model { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public double? MinP { get; init; }
    public int? N { get; init; }
    public JsonElement Stop { get; init; }
    public List<int>? StopTokenIds { get; init; }
    public long? Seed { get; init; }
    public double? PresencePenalty { get; init; }
    public double? FrequencyPenalty { get; init; }
    public double? RepetitionPenalty { get; init; }
    public bool? IgnoreEos { get; init; }
    public int? MinTokens { get; init; }
    public bool? SkipSpecialTokens { get; init; }
    public bool? IncludeStopStrInOutput { get; init; }
    public bool? Stream { get; init; }
    public StreamOptions? StreamOptions { get; init; }
    public int? BestOf { get; init; }
    public string? User { get; init; }
    public JsonElement? LogitBias { get; init; }
    public List<int>? AllowedTokenIds { get; init; }
    public List<string>? BadWords { get; init; }
    /// <summary>vLLM's truncate_prompt_tokens: keep only the last k prompt tokens (-1: up to max_model_len).</summary>
    public int? TruncatePromptTokens { get; init; }
    /// <summary>vLLM's prompt_logprobs: top logprobs per prompt token (0..20; not with stream).</summary>
    public int? PromptLogprobs { get; init; }

    /// <summary>OpenAI's response_format: text, json_object or json_schema.</summary>
    public JsonElement? ResponseFormat { get; init; }
    /// <summary>vLLM's structured_outputs object (json, regex, choice, grammar, json_object).</summary>
    public JsonElement? StructuredOutputs { get; init; }
    public JsonElement? GuidedJson { get; init; }
    public string? GuidedRegex { get; init; }
    public List<string>? GuidedChoice { get; init; }
    public string? GuidedGrammar { get; init; }
    /// <summary>Accepted and ignored, as there is one structured-output backend.</summary>
    public string? GuidedDecodingBackend { get; init; }

    /// <summary>The max_tokens the request asks for (null: up to the model's length).</summary>
    protected abstract int? RequestedMaxTokens { get; }

    /// <summary>
    /// Maps the request onto <see cref="SamplingParams"/>; a field the request leaves unset takes the model's
    /// recommended value from <paramref name="defaults"/> (--generation-config), else vLLM's default. As vLLM, the
    /// recommended max_tokens also caps a larger requested one.
    /// </summary>
    public SamplingParams ToSamplingParams(RequestOutputKind kind, GenerationConfigDefaults? defaults = null)
    {
        if (PromptLogprobs is < 0 or > 20) throw new InvalidRequestException($"prompt_logprobs must be in 0..20, got {PromptLogprobs}.", "prompt_logprobs");
        if (PromptLogprobs is not null && Stream == true)
            throw new InvalidRequestException("`prompt_logprobs` are not available when `stream=True`.", "prompt_logprobs");
        // As current vLLM (V1 engine), which dropped best_of: n completions are generated and all returned.
        if (BestOf is > 1) throw new InvalidRequestException("best_of is not supported by this engine (vLLM V1 removed it); use n to generate several completions.", "best_of");
        var vllm = new SamplingParams();
        var model = defaults ?? s_none;
        int? maxTokens = RequestedMaxTokens is int asked && model.MaxTokens is int recommended ? Math.Min(asked, recommended) : RequestedMaxTokens ?? model.MaxTokens;
        int topK = TopK ?? model.TopK ?? -1;
        var p = new SamplingParams
        {
            N = N ?? 1,
            MaxTokens = maxTokens,
            Temperature = Temperature ?? model.Temperature ?? vllm.Temperature,
            TopP = TopP ?? model.TopP ?? vllm.TopP,
            TopK = topK == 0 ? -1 : topK,
            MinP = MinP ?? model.MinP ?? 0,
            Seed = Seed,
            Stop = StopStrings(),
            StopTokenIds = StopTokenIds ?? [],
            PresencePenalty = PresencePenalty ?? 0,
            FrequencyPenalty = FrequencyPenalty ?? 0,
            RepetitionPenalty = RepetitionPenalty ?? model.RepetitionPenalty ?? 1,
            IgnoreEos = IgnoreEos ?? false,
            MinTokens = MinTokens ?? 0,
            SkipSpecialTokens = SkipSpecialTokens ?? true,
            IncludeStopStrInOutput = IncludeStopStrInOutput ?? false,
            OutputKind = kind,
            LogitBias = LogitBiasMap.Parse(LogitBias),
            AllowedTokenIds = AllowedTokenIds,
            BadWords = BadWords ?? [],
            PromptLogprobs = PromptLogprobs,
            StructuredOutputs = StructuredOutputsRequest.From(ResponseFormat, StructuredOutputs, GuidedJson, GuidedRegex, GuidedChoice, GuidedGrammar),
        };
        p.Validate();
        return p;
    }

    private static readonly GenerationConfigDefaults s_none = new();

    private List<string> StopStrings() => Stop.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => [],
        JsonValueKind.String => [Stop.GetString()!],
        JsonValueKind.Array when Stop.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
            => Stop.EnumerateArray().Select(e => e.GetString()!).ToList(),
        _ => throw new InvalidRequestException("stop must be a string or a list of strings.", "stop"),
    };

    /// <summary>vLLM's check that prompt + max_tokens fits the model (400 naming the numbers).</summary>
    public static void CheckLength(int promptTokens, int? maxTokens, int maxModelLen)
    {
        int requested = promptTokens + (maxTokens ?? 0);
        if (promptTokens >= maxModelLen || requested > maxModelLen)
            throw new ContextLengthExceededException(
                $"This model's maximum context length is {maxModelLen} tokens. However, you requested {requested} tokens "
              + $"({promptTokens} in the prompt, {maxTokens ?? 0} in the completion). Please reduce the length of the prompt or completion.");
    }
}
