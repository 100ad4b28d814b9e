using VllmSharp.Core.Config;
using VllmSharp.Engine;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Kernels;
using VllmSharp.Runtime.TestModels;
using VllmSharp.Server;
using Xunit;

namespace VllmSharp.Cli.Tests.BenchServe;

/// <summary>
/// The real API server on a free loopback port with a tiny seeded model and the real Qwen tokenizer (the pattern of
/// the server tests' ServerFixture), for benchmarking end to end.
/// </summary>
public sealed class BenchServeServer : IAsyncLifetime
{
    public string ModelDir { get; } = Path.Combine(Path.GetTempPath(), "vllmsharp-benchserve-" + Guid.NewGuid().ToString("N"));
    public AsyncLLM Engine { get; private set; } = null!;
    public ApiServer Server { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(ModelDir);
        TestModelWriter.Write(TestModelPresets.Get("tiny-qwen2"), DType.F32, ModelDir, seed: 5, vocabSize: 151936);
        BuiltinTokenizer.WriteTo(ModelDir);
        Engine = new AsyncLLM(new EngineArgs { Model = ModelDir, MaxModelLen = 256, KvCacheMemory = "64MiB", MaxNumSeqs = 32 });
        Server = ApiServer.Create(Engine, new ServerArgs { Host = "127.0.0.1", Port = 0, ServedModelNames = ["tiny"] });
        await Server.StartAsync();
        BaseUrl = Server.Urls[0].Replace("[::]", "127.0.0.1");
    }

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync();
        await Server.DisposeAsync();
        Engine.Dispose();
        try { Directory.Delete(ModelDir, recursive: true); } catch (IOException) { }
    }
}
