using System.Text;
using VllmSharp.Cli.BenchServe;
using VllmSharp.Engine.Tokenization;
using Xunit;

namespace VllmSharp.Cli.Tests.BenchServe;

public class DatasetTests
{
    [Fact]
    public void RandomSample_RangeRatioZero_ExactLengths()
    {
        List<SampleRequest> samples = RandomDataset.Sample(new FakeWordTokenizer(1000), 20, inputLen: 32, outputLen: 7, rangeRatio: 0, prefixLen: 0, new Random(0));
        Assert.Equal(20, samples.Count);
        Assert.All(samples, s => Assert.Equal((32, 7), (s.PromptLen, s.ExpectedOutputLen)));
        Assert.All(samples, s => Assert.Equal(32, s.Prompt.Split(' ').Length));
    }

    [Fact]
    public void RandomSample_RangeRatio_LengthsSpanFloorCeilBounds()
    {
        // L = 100 − 1 special token = 99 → [⌊49.5⌋, ⌈148.5⌉] = [49, 149]; output 10 → [5, 15].
        List<SampleRequest> samples = RandomDataset.Sample(new FakeWordTokenizer(500, numSpecialTokens: 1), 2000, 100, 10, 0.5, 0, new Random(3));
        Assert.Equal(49, samples.Min(s => s.PromptLen));
        Assert.Equal(149, samples.Max(s => s.PromptLen));
        Assert.Equal(5, samples.Min(s => s.ExpectedOutputLen));
        Assert.Equal(15, samples.Max(s => s.ExpectedOutputLen));
        Assert.Equal((49, 149), RandomDataset.Bounds(99, 0.5));
    }

    [Fact]
    public void RandomSample_Prefix_SharedByEveryPrompt()
    {
        List<SampleRequest> samples = RandomDataset.Sample(new FakeWordTokenizer(1000), 5, 8, 4, 0, prefixLen: 6, new Random(1));
        string prefix = string.Join(' ', samples[0].Prompt.Split(' ').Take(6));
        Assert.All(samples, s => Assert.StartsWith(prefix + " ", s.Prompt));
        Assert.All(samples, s => Assert.Equal(14, s.PromptLen));
        Assert.NotEqual(samples[0].Prompt, samples[1].Prompt);
    }

    [Fact]
    public void RandomSample_RealQwenTokenizer_PromptEncodesToStatedLength()
    {
        var tokenizer = new LocalPromptTokenizer(BuiltinTokenizer.Load(), "builtin");
        List<SampleRequest> samples = RandomDataset.Sample(tokenizer, 8, 64, 8, 0, 0, new Random(0));
        Assert.All(samples, s => Assert.Equal(s.PromptLen, tokenizer.Encode(s.Prompt).Length));
        // Re-encoding merges some pairs; the fix-up loop converges to the target for nearly all prompts.
        Assert.True(samples.Count(s => s.PromptLen == 64) >= 7, string.Join(",", samples.Select(s => s.PromptLen)));
    }

    [Fact]
    public void RandomSample_NoTokenizer_CountsWords()
    {
        List<SampleRequest> samples = RandomDataset.Sample(null, 3, 12, 5, 0, 2, new Random(0));
        Assert.All(samples, s => Assert.Equal(14, s.Prompt.Split(' ').Length));
        Assert.All(samples, s => Assert.Equal(14, s.PromptLen));
    }

    [Fact]
    public void RandomSample_SameSeed_SamePrompts()
        => Assert.Equal(RandomDataset.Sample(new FakeWordTokenizer(300), 4, 10, 3, 0.3, 2, new Random(5)),
            RandomDataset.Sample(new FakeWordTokenizer(300), 4, 10, 3, 0.3, 2, new Random(5)));

    [Fact]
    public void RandomSample_RangeRatioOne_Throws()
        => Assert.Throws<ArgumentException>(() => RandomDataset.Sample(null, 1, 10, 10, 1.0, 0, new Random(0)));

    private const string ShareGpt = """
        [
          {"id": "a", "conversations": [{"from": "human", "value": "w1 w2 w3 w4 w5"}, {"from": "gpt", "value": "w6 w7 w8 w9"}]},
          {"id": "b", "conversations": [{"from": "human", "value": "too short"}, {"from": "gpt", "value": "w1 w2 w3 w4"}]},
          {"id": "c", "conversations": [{"from": "human", "value": "only one turn here at all"}]},
          {"id": "d", "conversations": [{"from": "human", "value": "w1 w2 w3 w4"}, {"from": "gpt", "value": "w1 w2 w3 w4 w5 w6 w7"}, {"from": "human", "value": "later turns ignored"}]},
          {"id": "e", "conversations": [{"from": "human", "value": "w1 w2 w3 w4"}, {"from": "gpt", "value": "tiny"}]}
        ]
        """;

    [Fact]
    public void ShareGpt_Parse_FirstTurnPromptSecondTurnOutputLenAndFilters()
    {
        using var json = new MemoryStream(Encoding.UTF8.GetBytes(ShareGpt));
        List<SampleRequest> samples = ShareGptDataset.Load(json, 10, text => text.Split(' ').Length, new Random(0));
        // b (prompt 2 tokens), c (one turn) and e (reply 1 token) are skipped.
        Assert.Equal(2, samples.Count);
        Assert.Contains(new SampleRequest("w1 w2 w3 w4 w5", 5, 4), samples);
        Assert.Contains(new SampleRequest("w1 w2 w3 w4", 4, 7), samples);
    }

    [Fact]
    public void ShareGpt_NumPromptsAndOutputOverride_TakesFirstShuffled()
    {
        using var json = new MemoryStream(Encoding.UTF8.GetBytes(ShareGpt));
        List<SampleRequest> samples = ShareGptDataset.Load(json, 1, text => text.Split(' ').Length, new Random(0), outputLenOverride: 3);
        Assert.Single(samples);
        Assert.Equal(3, samples[0].ExpectedOutputLen);
    }

    [Fact]
    public void ShareGpt_NotAnArray_Throws()
        => Assert.Throws<ArgumentException>(() => ShareGptDataset.Load(new MemoryStream("{}"u8.ToArray()), 1, null, new Random(0)));
}
