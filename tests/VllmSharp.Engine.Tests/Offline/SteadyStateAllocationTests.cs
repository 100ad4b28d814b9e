using VllmSharp.Core.Config;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Sampling;
using Xunit;

namespace VllmSharp.Engine.Tests.Offline;

/// <summary>
/// Decode steps reuse the preallocated buffers (activations, logits, batch arrays, sampler scratch): what a step
/// still allocates is small per-step bookkeeping (the scheduler's output records), bounded by a constant that is
/// far below one row of logits (151,936 floats = 593 KiB).
/// </summary>
public sealed class SteadyStateAllocationTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    [Fact]
    public void EngineCoreStep_200DecodeSteps_AllocatesOnlyConstantBookkeeping()
    {
        using var llm = new LLM(new EngineArgs { Model = model.Path, MaxModelLen = 512, KvCacheMemory = "64MiB" });
        var core = llm.EngineCore;
        var request = new Request("alloc", [.. llm.Tokenizer.Encode("Steady state")],
            new SamplingParams { Temperature = 0.7, TopP = 0.9, Seed = 1, IgnoreEos = true }, maxTokens: 300,
            llm.Tokenizer.EosTokenIds, blockSize: 16, arrivalTime: 0);
        core.AddRequest(request);
        for (int i = 0; i < 20; i++) core.Step(); // prefill + warm-up (JIT, scratch growth)

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) Assert.Single(core.Step());
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 200;

        // GC counts are process-wide (other test classes run in parallel), so the per-thread byte count is the measure.
        Assert.True(perStep < 4096, $"a decode step allocated {perStep} bytes");
        TestContext.Current.SendDiagnosticMessage($"decode step allocations: {perStep} bytes");
        core.AbortRequests(["alloc"]);
    }
}
