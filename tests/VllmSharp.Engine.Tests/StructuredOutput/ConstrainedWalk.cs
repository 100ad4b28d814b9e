using System.Numerics;
using System.Text;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.StructuredOutput;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>
/// Drives a matcher the way sampling at temperature 1 over uniform logits would: each step draws one token
/// uniformly among those the mask allows (seeded), until EOS is drawn or a token cap is hit.
/// </summary>
internal static class ConstrainedWalk
{
    public static readonly HfTokenizer Tokenizer = BuiltinTokenizer.Load();

    public readonly record struct Result(string Text, bool Completed, int Tokens);

    public static Result Run(StructuredOutputsParams constraint, int seed, int maxTokens = 256, double shortTokenBias = 0)
        => Run(StructuredOutputManager.For(Tokenizer).CreateMatcher(constraint), seed, maxTokens, shortTokenBias);

    /// <param name="shortTokenBias">
    /// Probability of drawing among the allowed single-byte tokens (and EOS) instead of all allowed tokens: lets
    /// walks through unbounded strings of a grammar end in a reasonable number of steps.
    /// </param>
    public static Result Run(StructuredOutputMatcher matcher, int seed, int maxTokens = 256, double shortTokenBias = 0)
    {
        var rng = new Random(seed);
        var bytes = new List<byte>();
        for (int step = 0; step < maxTokens; step++)
        {
            ulong[] mask = matcher.AllowedTokens();
            if (shortTokenBias > 0 && rng.NextDouble() < shortTokenBias) mask = ShortOnly(mask);
            int token = PickUniform(mask, rng);
            if (!matcher.Advance(token)) throw new InvalidOperationException($"The matcher rejected token {token} that its own mask allowed.");
            if (Tokenizer.EosTokenIds.Contains(token))
                return new Result(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString([.. bytes]), true, step);
            bytes.AddRange(Tokenizer.GetTokenBytes(token).ToArray());
        }
        return new Result(Encoding.UTF8.GetString([.. bytes]), false, maxTokens);
    }

    private static ulong[] ShortOnly(ulong[] mask)
    {
        var shortMask = new ulong[mask.Length];
        bool any = false;
        for (int id = 0; id < mask.Length * 64 && id < Tokenizer.VocabSize; id++)
        {
            if ((mask[id >> 6] & (1UL << id)) == 0) continue;
            if (Tokenizer.GetTokenBytes(id).Length == 1 || Tokenizer.EosTokenIds.Contains(id)) { shortMask[id >> 6] |= 1UL << id; any = true; }
        }
        return any ? shortMask : mask;
    }

    public static int PickUniform(ReadOnlySpan<ulong> mask, Random rng)
    {
        int total = StructuredOutputGrammar.CountAllowed(mask);
        if (total == 0) throw new InvalidOperationException("The mask allows nothing.");
        int k = rng.Next(total);
        for (int w = 0; w < mask.Length; w++)
        {
            int c = BitOperations.PopCount(mask[w]);
            if (k >= c) { k -= c; continue; }
            ulong bits = mask[w];
            for (int i = 0; i < k; i++) bits &= bits - 1;
            return w * 64 + BitOperations.TrailingZeroCount(bits);
        }
        throw new InvalidOperationException("unreachable");
    }
}
