using VllmSharp.Core.Config;
using VllmSharp.Core.Errors;
using VllmSharp.Core.KVCache;
using VllmSharp.Core.Sampling;
using VllmSharp.Core.Scheduling;
using VllmSharp.Engine.Core;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Kernels;
using VllmSharp.Runtime;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Models;
using Xunit;

namespace VllmSharp.Engine.Tests.Offline;

/// <summary>
/// When a forward pass throws, the engine is dead (vLLM's EngineDeadError): the request in flight and every later
/// request fail promptly with <see cref="EngineDeadException"/> instead of waiting forever, and IsHealthy turns false.
/// </summary>
public sealed class EngineDeadTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    private const int BlockSize = 16, NumBlocks = 64, MaxModelLen = 512;

    [Fact]
    public async Task ForwardThrows_InFlightAndLaterRequestsFailWithEngineDead()
    {
        ITokenizer tokenizer = EngineFactory.LoadTokenizer(model.Path);
        var faulty = new FaultyModel(ModelLoader.Load(model.Path));
        SchedulerConfig config = new EngineArgs { Model = model.Path }.ToSchedulerConfig(MaxModelLen);
        var core = new EngineCore(new Scheduler(config, new KVCacheManager(NumBlocks, BlockSize, false)),
            new ModelRunner(faulty, NumBlocks, BlockSize, config, seed: 0, tokenizer));
        using var llm = new AsyncLLM(new LoadedEngine(core, tokenizer, model.Path, MaxModelLen, BlockSize, faulty.VocabSize));
        var greedy = new SamplingParams { Temperature = 0, MaxTokens = 4, IgnoreEos = true };
        CancellationToken timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

        await foreach (var _ in llm.GenerateAsync("healthy", greedy, "ok", cancellationToken: timeout)) { }
        Assert.True(llm.IsHealthy);

        faulty.Fail = true;
        var inFlight = await Assert.ThrowsAsync<EngineDeadException>(async () =>
        {
            await foreach (var _ in llm.GenerateAsync("boom", greedy, "boom", cancellationToken: timeout)) { }
        });
        Assert.IsType<InvalidOperationException>(inFlight.InnerException);
        Assert.False(llm.IsHealthy);

        await Assert.ThrowsAsync<EngineDeadException>(async () =>
        {
            await foreach (var _ in llm.GenerateAsync("later", greedy, "later", cancellationToken: timeout)) { }
        });
    }

    /// <summary>The real model until <see cref="Fail"/> is set, then every forward pass throws.</summary>
    private sealed class FaultyModel(ICausalLM inner) : ICausalLM
    {
        public volatile bool Fail;

        public HfConfig Config => inner.Config;
        public DType DType => inner.DType;
        public int VocabSize => inner.VocabSize;
        public int NumLayers => inner.NumLayers;
        public int NumKvHeads => inner.NumKvHeads;
        public int HeadDim => inner.HeadDim;
        public long WeightBytesPerToken => inner.WeightBytesPerToken;
        public long LmHeadParameters => inner.LmHeadParameters;
        public long MatMulParametersPerToken => inner.MatMulParametersPerToken;

        public ReadOnlySpan<float> Forward(ForwardBatch batch, KVCacheTensors kvCache)
            => Fail ? throw new InvalidOperationException("injected forward failure") : inner.Forward(batch, kvCache);

        public void Dispose() => inner.Dispose();
    }
}
