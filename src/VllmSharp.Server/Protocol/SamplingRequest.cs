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

    /// <summary>The max_tokens the request asks for (null: up to the model's length).</summary>
    protected abstract int? RequestedMaxTokens { get; }

    public SamplingParams ToSamplingParams(RequestOutputKind kind)
    {
        if (BestOf is > 1) throw new InvalidRequestException("best_of is not supported.", "best_of");
        if (LogitBias is { ValueKind: not JsonValueKind.Null }) throw new NotSupportedException("logit_bias is not supported yet.");
        var defaults = new SamplingParams();
        var p = new SamplingParams
        {
            N = N ?? 1,
            MaxTokens = RequestedMaxTokens,
            Temperature = Temperature ?? defaults.Temperature,
            TopP = TopP ?? defaults.TopP,
            TopK = TopK is null or 0 ? -1 : TopK.Value,
            MinP = MinP ?? 0,
            Seed = Seed,
            Stop = StopStrings(),
            StopTokenIds = StopTokenIds ?? [],
            PresencePenalty = PresencePenalty ?? 0,
            FrequencyPenalty = FrequencyPenalty ?? 0,
            RepetitionPenalty = RepetitionPenalty ?? 1,
            IgnoreEos = IgnoreEos ?? false,
            MinTokens = MinTokens ?? 0,
            SkipSpecialTokens = SkipSpecialTokens ?? true,
            IncludeStopStrInOutput = IncludeStopStrInOutput ?? false,
            OutputKind = kind,
        };
        p.Validate();
        return p;
    }

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
