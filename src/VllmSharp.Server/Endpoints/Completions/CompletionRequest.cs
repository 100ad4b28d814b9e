using System.Text.Json;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Sampling;

namespace VllmSharp.Server.Endpoints.Completions;

/// <summary>OpenAI's <c>stream_options</c> (vLLM adds <c>continuous_usage_stats</c>).</summary>
public sealed record StreamOptions(bool? IncludeUsage, bool? ContinuousUsageStats);

/// <summary>
/// The body of <c>POST /v1/completions</c> (OpenAI's fields plus vLLM's sampling extras). <see cref="Prompt"/> is kept
/// as raw JSON because OpenAI allows a string, a list of strings, a list of token ids, or a list of such lists.
/// </summary>
public sealed record CompletionRequest
{
    public string? Model { get; init; }
    public JsonElement Prompt { get; init; }
    public int? MaxTokens { get; init; } = 16;
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
    public bool? Echo { get; init; }
    public bool? Stream { get; init; }
    public StreamOptions? StreamOptions { get; init; }
    public int? BestOf { get; init; }
    public string? User { get; init; }

    /// <summary>vLLM's mapping of the request fields onto <see cref="SamplingParams"/> (defaults where absent).</summary>
    public SamplingParams ToSamplingParams()
    {
        if (BestOf is > 1) throw new InvalidRequestException("best_of is not supported.", "best_of");
        var defaults = new SamplingParams();
        return new SamplingParams
        {
            N = N ?? 1,
            MaxTokens = MaxTokens,
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
            OutputKind = RequestOutputKind.FinalOnly,
        };
    }

    private List<string> StopStrings() => Stop.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => [],
        JsonValueKind.String => [Stop.GetString()!],
        JsonValueKind.Array when Stop.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
            => Stop.EnumerateArray().Select(e => e.GetString()!).ToList(),
        _ => throw new InvalidRequestException("stop must be a string or a list of strings.", "stop"),
    };

    /// <summary>The prompts of the request: text, or token ids; a list gives one prompt per entry.</summary>
    public IReadOnlyList<(string? Text, int[]? TokenIds)> Prompts()
    {
        JsonElement p = Prompt;
        if (p.ValueKind == JsonValueKind.String) return [(p.GetString(), null)];
        if (p.ValueKind == JsonValueKind.Array)
        {
            var items = p.EnumerateArray().ToList();
            if (items.Count == 0) throw new InvalidRequestException("prompt must not be empty.", "prompt");
            if (items.All(e => e.ValueKind == JsonValueKind.Number)) return [(null, TokenIds(p))];
            if (items.All(e => e.ValueKind == JsonValueKind.String)) return items.Select(e => ((string?)e.GetString(), (int[]?)null)).ToList();
            if (items.All(e => e.ValueKind == JsonValueKind.Array)) return items.Select(e => ((string?)null, (int[]?)TokenIds(e))).ToList();
        }
        throw new InvalidRequestException("prompt must be a string, a list of strings, a list of token ids, or a list of token id lists.", "prompt");
    }

    private static int[] TokenIds(JsonElement array)
    {
        var ids = new List<int>();
        foreach (JsonElement e in array.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int id))
                throw new InvalidRequestException("prompt token ids must be integers.", "prompt");
            ids.Add(id);
        }
        if (ids.Count == 0) throw new InvalidRequestException("prompt must not be empty.", "prompt");
        return [.. ids];
    }
}
