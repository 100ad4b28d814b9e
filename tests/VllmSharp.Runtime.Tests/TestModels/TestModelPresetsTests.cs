using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using VllmSharp.Runtime.Tests.Loading;
using Xunit;

namespace VllmSharp.Runtime.Tests.TestModels;

public sealed class TestModelPresetsTests
{
    // Parameter counts as the model cards state them (HF safetensors metadata).
    [Theory]
    [InlineData("qwen2.5-0.5b", 494_032_768L)]
    [InlineData("llama-3.2-1b", 1_235_814_400L)]
    [InlineData("mistral-7b", 7_241_732_096L)]
    public void ParameterCount_RealPresets_MatchPublishedModels(string name, long expected) =>
        Assert.Equal(expected, TestModelPresets.Get(name).ParameterCount);

    [Fact]
    public void All_ConfigsValidateAndSurviveJsonRoundTrip()
    {
        using var dir = new TempDirectory();
        foreach (TestModelPreset preset in TestModelPresets.All)
        {
            preset.Config.Validate();
            File.WriteAllText(dir.File("config.json"), preset.Config.ToJson());
            HfConfig reloaded = HfConfig.Load(dir.Path);
            Assert.Equal(preset.Config.ToJson(), reloaded.ToJson());
            Assert.Equal(preset.Config.SlidingWindow, reloaded.SlidingWindow);
            Assert.Equal(preset.Config.AttentionBias, reloaded.AttentionBias);
            Assert.Equal(preset.Config.HeadDim, reloaded.HeadDim);
        }
    }

    [Fact]
    public void WithVocabSize_RealTokenizerVocab_UsesFamilySpecialTokens()
    {
        TestModelPreset tiny = TestModelPresets.TinyLlama;
        Assert.Equal(512, tiny.Config.VocabSize);
        Assert.Equal(1, tiny.Config.BosTokenId); // the family's ids do not fit 512 tokens
        Assert.Equal([2], tiny.Config.EosTokenIds);
        TestModelPreset real = tiny.WithVocabSize(128256);
        Assert.Equal(128256, real.Config.VocabSize);
        Assert.Equal(128000, real.Config.BosTokenId);
        Assert.Equal([128001], real.Config.EosTokenIds);
        Assert.Equal(64, real.Config.HiddenSize);
    }

    [Fact]
    public void Get_UnknownName_ThrowsListingPresets()
    {
        var e = Assert.Throws<ArgumentException>(() => TestModelPresets.Get("gpt-5"));
        Assert.Contains("tiny-qwen3", e.Message);
        Assert.Same(TestModelPresets.TinyQwen2, TestModelPresets.Get("TINY-QWEN2"));
    }
}
