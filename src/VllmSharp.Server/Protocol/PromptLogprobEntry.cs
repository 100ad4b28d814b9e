using VllmSharp.Core.Outputs;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Server.Protocol;

/// <summary>One alternative in vLLM's <c>prompt_logprobs</c> JSON: <c>{"logprob", "rank", "decoded_token"}</c>.</summary>
public sealed record PromptLogprobEntry(float Logprob, int? Rank, string DecodedToken)
{
    /// <summary>
    /// vLLM's shape: per prompt token null (the first) or a map from token id (as a string) to its entry, holding the
    /// prompt token itself and the top k.
    /// </summary>
    public static List<Dictionary<string, PromptLogprobEntry>?> Format(ITokenizer tokenizer, IReadOnlyList<PositionLogprobs?> positions)
    {
        var result = new List<Dictionary<string, PromptLogprobEntry>?>(positions.Count);
        foreach (PositionLogprobs? p in positions)
        {
            if (p is null)
            {
                result.Add(null);
                continue;
            }
            var map = new Dictionary<string, PromptLogprobEntry>
            {
                [p.TokenId.ToString(System.Globalization.CultureInfo.InvariantCulture)] =
                    new(LogprobText.Value(p.Logprob), p.Rank, LogprobText.Token(tokenizer, p.TokenId)),
            };
            for (int t = 0; t < p.TopTokenIds.Length; t++)
                map.TryAdd(p.TopTokenIds[t].ToString(System.Globalization.CultureInfo.InvariantCulture),
                    new(LogprobText.Value(p.TopLogprobs[t]), t + 1, LogprobText.Token(tokenizer, p.TopTokenIds[t])));
            result.Add(map);
        }
        return result;
    }
}
