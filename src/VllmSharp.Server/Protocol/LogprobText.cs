using System.Text;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Server.Protocol;

/// <summary>How a token and its log-probability are written in logprobs responses, shared by completions and chat.</summary>
public static class LogprobText
{
    /// <summary>JSON has no −∞; vLLM writes a token the model rules out as this value.</summary>
    public const float Floor = -9999f;

    /// <summary>The token's text as one piece (a byte of a split character decodes to U+FFFD, as in vLLM).</summary>
    public static string Token(ITokenizer tokenizer, int id) => tokenizer.Decode([id], skipSpecialTokens: false);

    /// <summary>The UTF-8 bytes the token stands for (OpenAI's <c>bytes</c>: exact even for part of a character).</summary>
    public static int[] Bytes(ITokenizer tokenizer, int id, string text)
    {
        ReadOnlySpan<byte> bytes = tokenizer.GetTokenBytes(id);
        byte[] fallback = bytes.IsEmpty ? Encoding.UTF8.GetBytes(text) : [];
        if (bytes.IsEmpty) bytes = fallback;
        var result = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) result[i] = bytes[i];
        return result;
    }

    /// <summary>The value to write: finite as is, −∞ (and NaN) as <see cref="Floor"/>.</summary>
    public static float Value(float logprob) => float.IsFinite(logprob) ? logprob : Floor;
}
