using System.Text.Json;

namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// ShareGPT-format conversations (<c>[{"conversations":[{"from":"human","value":…},{"from":"gpt","value":…}]}]</c>):
/// the first turn is the prompt and the second turn's token count is the output length. As in vLLM the entries are
/// shuffled with the seed, and pairs with a prompt or reply under 4 tokens, a prompt over 1024 or a total over 2048
/// tokens are skipped.
/// </summary>
public static class ShareGptDataset
{
    private const int MinLen = 4, MaxPromptLen = 1024, MaxTotalLen = 2048;

    /// <param name="countTokens">Token counter (null: words).</param>
    /// <param name="outputLenOverride">Ask for this many tokens instead of the reply's length (vLLM's --sharegpt-output-len).</param>
    public static List<SampleRequest> Load(Stream json, int numRequests, Func<string, int>? countTokens, Random random, int? outputLenOverride = null)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Array) throw new ArgumentException("The ShareGPT file must hold a JSON array.");
        var pairs = new List<(string Prompt, string Reply)>();
        foreach (JsonElement entry in document.RootElement.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("conversations", out JsonElement turns)
                || turns.ValueKind != JsonValueKind.Array || turns.GetArrayLength() < 2)
                continue;
            string? prompt = Value(turns[0]), reply = Value(turns[1]);
            if (prompt is not null && reply is not null) pairs.Add((prompt, reply));
        }
        for (int i = pairs.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (pairs[i], pairs[j]) = (pairs[j], pairs[i]);
        }

        Func<string, int> count = countTokens ?? CountWords;
        var requests = new List<SampleRequest>(Math.Min(numRequests, pairs.Count));
        foreach ((string prompt, string reply) in pairs)
        {
            if (requests.Count == numRequests) break;
            int promptLen = count(prompt);
            int outputLen = outputLenOverride ?? count(reply);
            bool valid = promptLen >= MinLen && (outputLenOverride is not null || outputLen >= MinLen)
                && promptLen <= MaxPromptLen && promptLen + outputLen <= MaxTotalLen;
            if (valid) requests.Add(new SampleRequest(prompt, promptLen, outputLen));
        }
        return requests;
    }

    private static string? Value(JsonElement turn)
        => turn.ValueKind == JsonValueKind.Object && turn.TryGetProperty("value", out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int CountWords(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
}
