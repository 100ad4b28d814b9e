using VllmSharp.Core.Outputs;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Chat;

/// <summary>OpenAI's chat <c>logprobs</c> object: one entry per generated token.</summary>
public sealed record ChatLogprobs(IReadOnlyList<ChatLogprobToken> Content)
{
    /// <summary>The entries of <paramref name="positions"/>, each with its top <paramref name="topK"/> alternatives (descending).</summary>
    public static ChatLogprobs From(ITokenizer tokenizer, IReadOnlyList<PositionLogprobs> positions, int topK)
    {
        var content = new List<ChatLogprobToken>(positions.Count);
        foreach (PositionLogprobs p in positions)
        {
            int n = Math.Min(topK, p.TopTokenIds.Length);
            var top = new List<ChatTopLogprob>(n);
            for (int t = 0; t < n; t++)
            {
                string alt = LogprobText.Token(tokenizer, p.TopTokenIds[t]);
                top.Add(new ChatTopLogprob(alt, LogprobText.Value(p.TopLogprobs[t]), LogprobText.Bytes(tokenizer, p.TopTokenIds[t], alt)));
            }
            string text = LogprobText.Token(tokenizer, p.TokenId);
            content.Add(new ChatLogprobToken(text, LogprobText.Value(p.Logprob), LogprobText.Bytes(tokenizer, p.TokenId, text), top));
        }
        return new ChatLogprobs(content);
    }
}

public sealed record ChatLogprobToken(string Token, float Logprob, int[] Bytes, IReadOnlyList<ChatTopLogprob> TopLogprobs);

public sealed record ChatTopLogprob(string Token, float Logprob, int[] Bytes);
