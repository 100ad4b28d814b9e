using VllmSharp.Core.Config;
using VllmSharp.Engine;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Kernels;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// The real server on a free loopback port, serving a tiny seeded model with the real Qwen tokenizer, started as
/// <c>--enable-auto-tool-choice --tool-call-parser hermes</c>.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vllmsharp-server-" + Guid.NewGuid().ToString("N"));

    public const string ModelName = "tiny";
    public AsyncLLM Engine { get; private set; } = null!;
    public ApiServer Server { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        TestModelWriter.Write(TestModelPresets.Get("tiny-qwen2"), DType.F32, _dir, seed: 5, vocabSize: 151936);
        BuiltinTokenizer.WriteTo(_dir);
        Engine = new AsyncLLM(new EngineArgs { Model = _dir, MaxModelLen = 512, KvCacheMemory = "64MiB", MaxNumSeqs = 32 });
        Server = ApiServer.Create(Engine, new ServerArgs
        {
            Host = "127.0.0.1",
            Port = 0,
            ServedModelNames = [ModelName, "alias"],
            ToolCalling = new() { EnableAutoToolChoice = true, Parser = "hermes" },
        });
        await Server.StartAsync();
        BaseUrl = Server.Urls[0].Replace("[::]", "127.0.0.1");
        Http.BaseAddress = new Uri(BaseUrl);
    }

    /// <summary>Waits (bounded) until the engine has no request left and every KV block is free again.</summary>
    public async Task AssertEngineIdleAsync()
    {
        for (int i = 0; i < 500 && !Engine.Stats.IsIdle; i++)
            await Task.Delay(10, TestContext.Current.CancellationToken);
        EngineStats stats = Engine.Stats;
        Assert.True(stats.IsIdle, $"engine not idle: {stats}");
    }

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync();
        await Server.DisposeAsync();
        Engine.Dispose();
        Http.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
