using VllmSharp.Engine.Generation;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Kernels;
using VllmSharp.Runtime;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Engine.Tests.Generation;

public sealed class SingleSequenceGeneratorTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vllmsharp-gen-" + Guid.NewGuid().ToString("N"));
    private readonly ICausalLM _model;
    private readonly ITokenizer _tokenizer;

    public SingleSequenceGeneratorTests()
    {
        Directory.CreateDirectory(_dir);
        TestModelWriter.Write(TestModelPresets.Get("tiny-qwen3"), DType.F32, _dir, seed: 3, vocabSize: 151936);
        BuiltinTokenizer.WriteTo(_dir);
        _model = ModelLoader.Load(_dir);
        _tokenizer = HfTokenizer.Load(_dir);
    }

    [Fact]
    public void Generate_Greedy_EqualsRecomputingTheWholeSequenceEachStep()
    {
        const string prompt = "The quick brown fox";
        var pieces = new List<string>();
        GenerationStats stats = new SingleSequenceGenerator(_model, _tokenizer).Generate(prompt, 10, 0, 0, pieces.Add);

        // Without any KV reuse: feed the whole sequence every step into a fresh cache and take the argmax.
        List<int> ids = [.. _tokenizer.Encode(prompt)];
        int promptLength = ids.Count;
        var eos = new HashSet<int>(_tokenizer.EosTokenIds);
        for (int step = 0; step < 10; step++)
        {
            var batch = new ForwardBatch(ids.Count, 1, 8);
            var cache = new KVCacheTensors(_model.NumLayers, 8, 16, _model.NumKvHeads, _model.HeadDim);
            batch.AddSequence(ids.ToArray(), 0, [0, 1, 2, 3, 4, 5, 6, 7], 16, computeLogits: true);
            int next = ArgMax.Find(_model.Forward(batch, cache));
            ids.Add(next);
            if (eos.Contains(next)) break;
        }
        int[] generated = ids.Skip(promptLength).Where(id => !eos.Contains(id)).ToArray();
        Assert.Equal(_tokenizer.Decode(generated), string.Concat(pieces));
        Assert.Equal(promptLength, stats.PromptTokens);
    }

    [Fact]
    public void Generate_SameSeed_SameOutputAndDifferentSeedsDiffer()
    {
        var generator = new SingleSequenceGenerator(_model, _tokenizer);
        string Run(int seed)
        {
            var text = new System.Text.StringBuilder();
            generator.Generate("Hello", 16, 1.0, seed, piece => text.Append(piece));
            return text.ToString();
        }
        Assert.Equal(Run(5), Run(5));
        Assert.NotEqual(Run(5), Run(6));
    }

    [Fact]
    public void Generate_InvalidArguments_Throw()
    {
        var generator = new SingleSequenceGenerator(_model, _tokenizer);
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate("x", 0, 0, 0, _ => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate("x", 1, -1, 0, _ => { }));
    }

    public void Dispose()
    {
        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
