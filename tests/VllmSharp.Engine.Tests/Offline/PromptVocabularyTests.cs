using VllmSharp.Core.Config;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Core;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Kernels;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Engine.Tests.Offline;

/// <summary>
/// A model whose embedding has fewer rows than its tokenizer has tokens (e.g. a tiny test model with the Qwen
/// tokenizer): prompt ids past the model's vocabulary are a 400-style error at arrival, never a failed engine step.
/// </summary>
public sealed class PromptVocabularyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vllmsharp-vocab-" + Guid.NewGuid().ToString("N"));

    public PromptVocabularyTests()
    {
        Directory.CreateDirectory(_dir);
        TestModelWriter.Write(TestModelPresets.Get("tiny-qwen3"), DType.F32, _dir, seed: 3, vocabSize: 512);
        BuiltinTokenizer.WriteTo(_dir);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Generate_PromptIdBeyondModelVocabulary_InvalidRequestAndEngineStillServes()
    {
        using var llm = new LLM(new EngineArgs { Model = _dir, MaxModelLen = 128, KvCacheMemory = "16MiB" });
        var greedy = new SamplingParams { Temperature = 0, MaxTokens = 2, IgnoreEos = true };
        var e = Assert.Throws<InvalidRequestException>(() => llm.Generate(PromptInput.FromTokens([1, 600]), greedy));
        Assert.Equal("prompt", e.Parameter);
        Assert.Contains("600", e.Message);
        Assert.Contains("512", e.Message);
        Assert.Equal(2, llm.Generate(PromptInput.FromTokens([1, 511]), greedy).Outputs[0].TokenIds.Count);
    }
}
