using VllmSharp.Core.Outputs;

namespace VllmSharp.Engine.Outputs;

/// <summary>
/// What <see cref="OutputProcessor.ProcessOutputs"/> made of one engine step: the outputs to hand
/// to callers, and the child requests a stop string finished, which the engine core still thinks
/// are running and must abort (vLLM's <c>OutputProcessorOutput.reqs_to_abort</c>).
/// </summary>
public sealed record ProcessedOutputs(IReadOnlyList<RequestOutput> RequestOutputs, IReadOnlyList<string> ChildRequestsToAbort)
{
    /// <summary>Nothing to report and nothing to abort.</summary>
    public static ProcessedOutputs Empty { get; } = new([], []);
}
