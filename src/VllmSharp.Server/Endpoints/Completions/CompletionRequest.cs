using System.Text.Json;
using VllmSharp.Core.Errors;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Completions;

/// <summary>
/// The body of <c>POST /v1/completions</c>. <see cref="Prompt"/> is kept as raw JSON because OpenAI allows a string, a
/// list of strings, a list of token ids, or a list of such lists.
/// </summary>
public sealed record CompletionRequest : SamplingRequest
{
    public JsonElement Prompt { get; init; }
    public int? MaxTokens { get; init; } = 16;
    public bool? Echo { get; init; }
    public int? Logprobs { get; init; }

    protected override int? RequestedMaxTokens => MaxTokens;

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
