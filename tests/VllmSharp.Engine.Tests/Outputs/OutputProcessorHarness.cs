using VllmSharp.Core.Outputs;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Outputs;
using Xunit;

namespace VllmSharp.Engine.Tests.Outputs;

/// <summary>
/// Drives an <see cref="OutputProcessor"/> over a <see cref="FakeTokenizer"/> the way the engine
/// loop does: one call per step, with a step counter as the clock (no wall-clock time).
/// </summary>
internal sealed class OutputProcessorHarness
{
    public OutputProcessorHarness(params string[] pieces)
    {
        Tokenizer = new FakeTokenizer(pieces);
        Processor = new OutputProcessor(Tokenizer);
    }

    public FakeTokenizer Tokenizer { get; }

    public OutputProcessor Processor { get; }

    /// <summary>The time passed to the last <see cref="Step"/>; each step advances it by 1.</summary>
    public double Now { get; private set; } = 100;

    /// <summary>Registers a request with children "{id}-0" … "{id}-{n-1}", or the single child "{id}" when n = 1.</summary>
    public void Add(string requestId, SamplingParams samplingParams, int n = 1, string? prompt = "prompt")
    {
        string[] children = new string[n];
        for (int i = 0; i < n; i++)
        {
            children[i] = n == 1 ? requestId : $"{requestId}-{i}";
        }

        Processor.AddRequest(requestId, prompt, [7, 8, 9], samplingParams, arrivalTime: Now, children);
    }

    public ProcessedOutputs Step(params EngineCoreOutput[] outputs)
    {
        Now += 1;
        return Processor.ProcessOutputs(outputs, Now);
    }

    /// <summary>New tokens given as pieces of the fake vocabulary.</summary>
    public EngineCoreOutput Out(string childId, params string[] pieces) => new(childId, Tokenizer.Ids(pieces));

    public EngineCoreOutput Finish(string childId, RequestStatus status, object? stopReason, params string[] pieces) =>
        new(childId, Tokenizer.Ids(pieces), status, stopReason);

    public EngineCoreOutput Length(string childId, params string[] pieces) =>
        Finish(childId, RequestStatus.FinishedLengthCapped, null, pieces);

    /// <summary>The only completion of the only request output of a step.</summary>
    public static CompletionOutput Single(ProcessedOutputs processed)
    {
        RequestOutput output = Assert.Single(processed.RequestOutputs);
        return Assert.Single(output.Outputs);
    }
}
