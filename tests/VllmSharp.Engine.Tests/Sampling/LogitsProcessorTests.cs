using VllmSharp.Core.Errors;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Sampling;
using VllmSharp.Engine.Tokenization;
using Xunit;

namespace VllmSharp.Engine.Tests.Sampling;

/// <summary>logit_bias, allowed_token_ids and bad_words applied by the sampler (vLLM v1's built-in logits processors).</summary>
public sealed class LogitsProcessorTests
{
    private const int Vocab = 5000;

    private static SamplingState State(SamplingParams p, ITokenizer? tokenizer = null)
    {
        p.Validate();
        var state = new SamplingState(p, [], [], 7);
        state.Processors = LogitsProcessors.Create(p, tokenizer);
        return state;
    }

    private static int Sample(float[] logits, SamplingState state)
    {
        var token = new int[1];
        new Sampler(logits.Length).Sample((float[])logits.Clone(), [state], token, new float[1]);
        return token[0];
    }

    private static int ArgMax(float[] x, Func<int, bool>? allowed = null)
    {
        int best = -1;
        for (int i = 0; i < x.Length; i++)
            if ((allowed is null || allowed(i)) && (best < 0 || x[i] > x[best])) best = i;
        return best;
    }

    [Fact]
    public void Sample_LogitBiasMinus100_BansTheGreedyToken()
    {
        float[] logits = SamplingReference.RandomLogits(Vocab, 3, seed: 1);
        int top = ArgMax(logits);
        // Random logits span a few units: −100 drops the top token below every other one.
        int token = Sample(logits, State(new SamplingParams { Temperature = 0, LogitBias = new Dictionary<int, double> { [top] = -100 } }));
        Assert.Equal(ArgMax(logits, i => i != top), token);
    }

    [Fact]
    public void Sample_LogitBiasPlus100_ForcesTheTokenUnderGreedyAndRandom()
    {
        float[] logits = SamplingReference.RandomLogits(Vocab, 3, seed: 2);
        int weakest = Array.IndexOf(logits, logits.Min());
        var bias = new Dictionary<int, double> { [weakest] = 100 };
        Assert.Equal(weakest, Sample(logits, State(new SamplingParams { Temperature = 0, LogitBias = bias })));
        var random = State(new SamplingParams { Temperature = 1, Seed = 3, LogitBias = bias });
        for (int i = 0; i < 20; i++) Assert.Equal(weakest, Sample(logits, random));
    }

    [Fact]
    public void Sample_LogitBias_LogprobStaysThatOfTheRawRow()
    {
        float[] logits = SamplingReference.RandomLogits(Vocab, 3, seed: 4);
        var state = State(new SamplingParams { Temperature = 0, LogitBias = new Dictionary<int, double> { [10] = 100 } });
        var token = new int[1];
        var logprob = new float[1];
        new Sampler(Vocab).Sample((float[])logits.Clone(), [state], token, logprob);
        Assert.Equal(10, token[0]);
        // vLLM's default raw_logprobs mode: processors do not change the reported value. 1e-4: float sums of a few
        // thousand exponentials; a biased row would be off by tens.
        Assert.Equal(SamplingReference.LogSoftmax(logits, 10), logprob[0], 1e-4);
    }

    [Fact]
    public void Sample_AllowedTokenIds_DrawsOnlyAllowedTokens()
    {
        float[] logits = SamplingReference.RandomLogits(Vocab, 3, seed: 5);
        int[] allowed = [3, 99, 1234, 4999];
        var allowedSet = allowed.ToHashSet();
        Assert.Equal(ArgMax(logits, allowedSet.Contains), Sample(logits, State(new SamplingParams { Temperature = 0, AllowedTokenIds = allowed })));
        var random = State(new SamplingParams { Temperature = 1.5, Seed = 8, AllowedTokenIds = allowed });
        var seen = new HashSet<int>();
        for (int i = 0; i < 200; i++) seen.Add(Sample(logits, random));
        Assert.Subset(allowedSet, seen);
        Assert.True(seen.Count > 1, "temperature 1.5 over four tokens should draw more than one of them");
    }

    [Fact]
    public void Sample_NoProcessors_RowAndTokensBitwiseAsBefore()
    {
        // A request without processors must go through the sampler exactly as before: same tokens, same row afterwards.
        float[] logits = SamplingReference.RandomLogits(Vocab, 3, seed: 6);
        var plain = new SamplingState(new SamplingParams { Temperature = 0.8, Seed = 1 }, [], [], 0);
        var viaCreate = State(new SamplingParams { Temperature = 0.8, Seed = 1 });
        Assert.Null(viaCreate.Processors);
        float[] a = (float[])logits.Clone(), b = (float[])logits.Clone();
        var ta = new int[1];
        var tb = new int[1];
        var sampler = new Sampler(Vocab);
        for (int i = 0; i < 10; i++)
        {
            sampler.Sample(a, [plain], ta, new float[1]);
            sampler.Sample(b, [viaCreate], tb, new float[1]);
            Assert.Equal(ta[0], tb[0]);
        }
        Assert.Equal(a, b);
    }

    [Fact]
    public void Apply_MultiTokenBadWord_BansLastTokenOnlyAfterItsPrefix()
    {
        var tokenizer = BuiltinTokenizer.Load();
        var p = new SamplingParams { Temperature = 0, BadWords = ["Zyxwvutsrq"] };
        var state = State(p, tokenizer);
        int[][] words = [.. state.Processors!.BadWordTokenIds];
        int[] word = words.First(w => w.Length > 1);
        var row = new float[tokenizer.VocabSize];
        state.Processors.Apply(row);
        Assert.Equal(0f, row[word[^1]]); // prefix not generated yet
        foreach (int id in word[..^1]) state.AppendOutputToken(id);
        state.Processors.Apply(row);
        Assert.Equal(float.NegativeInfinity, row[word[^1]]);
    }

    [Fact]
    public void TokenizeBadWords_AddsTheLeadingSpaceVariant()
    {
        var tokenizer = BuiltinTokenizer.Load();
        int[][] words = LogitsProcessors.TokenizeBadWords(["hello"], tokenizer);
        Assert.Equal(2, words.Length);
        Assert.Equal("hello", tokenizer.Decode(words[0]));
        Assert.Equal(" hello", tokenizer.Decode(words[1]));
    }

    [Theory]
    [InlineData(101.0)]
    [InlineData(-100.5)]
    [InlineData(double.NaN)]
    public void Validate_LogitBiasOutOfRange_Throws(double bias)
    {
        var p = new SamplingParams { LogitBias = new Dictionary<int, double> { [1] = bias } };
        Assert.Equal("logit_bias", Assert.Throws<InvalidRequestException>(p.Validate).Parameter);
    }

    [Fact]
    public void Validate_EmptyAllowedTokenIds_Throws()
        => Assert.Equal("allowed_token_ids", Assert.Throws<InvalidRequestException>(new SamplingParams { AllowedTokenIds = [] }.Validate).Parameter);
}
