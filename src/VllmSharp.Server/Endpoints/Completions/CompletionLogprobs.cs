using VllmSharp.Core.Outputs;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Completions;

/// <summary>
/// OpenAI's legacy completions <c>logprobs</c> object: per token its text, its log-probability, a map of the top
/// alternatives (the top k plus the chosen token, so up to k + 1 entries, as vLLM) and its character offset in the
/// choice's text. A prompt position without logprobs (the first one, with echo) has nulls.
/// </summary>
public sealed record CompletionLogprobs(List<string> Tokens, List<float?> TokenLogprobs, List<Dictionary<string, float>?> TopLogprobs, List<int> TextOffset)
{
    public static CompletionLogprobs Empty() => new([], [], [], []);

    /// <summary>
    /// Appends <paramref name="positions"/> (the logprobs of <paramref name="tokenIds"/>, or null entries for positions
    /// without any); <paramref name="offset"/> is the text offset of the first and is advanced past each token.
    /// </summary>
    public void Append(ITokenizer tokenizer, IReadOnlyList<int> tokenIds, IReadOnlyList<PositionLogprobs?> positions, int topK, ref int offset)
    {
        for (int i = 0; i < tokenIds.Count; i++)
        {
            string text = LogprobText.Token(tokenizer, tokenIds[i]);
            Tokens.Add(text);
            TextOffset.Add(offset);
            offset += text.Length;
            PositionLogprobs? p = i < positions.Count ? positions[i] : null;
            if (p is null)
            {
                TokenLogprobs.Add(null);
                TopLogprobs.Add(null);
                continue;
            }
            TokenLogprobs.Add(LogprobText.Value(p.Logprob));
            var top = new Dictionary<string, float>();
            // Two ids can decode to the same text; the more likely one (listed first) keeps the entry.
            for (int t = 0; t < p.TopTokenIds.Length && t < topK; t++)
                top.TryAdd(LogprobText.Token(tokenizer, p.TopTokenIds[t]), LogprobText.Value(p.TopLogprobs[t]));
            top.TryAdd(text, LogprobText.Value(p.Logprob));
            TopLogprobs.Add(top);
        }
    }
}
