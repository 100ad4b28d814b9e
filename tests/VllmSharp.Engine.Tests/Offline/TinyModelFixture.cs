using VllmSharp.Engine.Tokenization;
using VllmSharp.Kernels;
using VllmSharp.Runtime.TestModels;

namespace VllmSharp.Engine.Tests.Offline;

/// <summary>A tiny Qwen3-shaped model with seeded random weights and the real Qwen tokenizer, written once per test class.</summary>
public sealed class TinyModelFixture : IDisposable
{
    public TinyModelFixture()
    {
        Directory.CreateDirectory(Path);
        TestModelWriter.Write(TestModelPresets.Get("tiny-qwen3"), DType.F32, Path, seed: 11, vocabSize: 151936);
        BuiltinTokenizer.WriteTo(Path);
    }

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vllmsharp-engine-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
