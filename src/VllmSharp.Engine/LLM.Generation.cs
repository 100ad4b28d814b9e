using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Core;
using VllmSharp.Engine.Outputs;

namespace VllmSharp.Engine;

public sealed partial class LLM
{
    /// <summary>Generates for one prompt.</summary>
    public RequestOutput Generate(PromptInput prompt, SamplingParams? samplingParams = null)
        => Generate([prompt], samplingParams is null ? null : [samplingParams], useProgressBar: false)[0];

    /// <summary>Generates for a batch of text prompts with one set of sampling params; outputs are in prompt order.</summary>
    public IReadOnlyList<RequestOutput> Generate(IReadOnlyList<string> prompts, SamplingParams? samplingParams = null, bool useProgressBar = true)
        => Generate(prompts.Select(p => (PromptInput)p).ToList(), samplingParams is null ? null : [samplingParams], useProgressBar);

    /// <summary>
    /// Generates for a batch of prompts (text or token ids). <paramref name="samplingParams"/> holds one entry for
    /// all prompts, or one per prompt (null: vLLM's defaults). All prompts run together with continuous batching.
    /// <paramref name="priority"/> (one per prompt, lower first) matters with <c>SchedulingPolicy.Priority</c>.
    /// </summary>
    public IReadOnlyList<RequestOutput> Generate(IReadOnlyList<PromptInput> prompts, IReadOnlyList<SamplingParams>? samplingParams,
        bool useProgressBar = true, IReadOnlyList<int>? priority = null)
    {
        if (samplingParams is not null && samplingParams.Count != 1 && samplingParams.Count != prompts.Count)
            throw new ArgumentException($"Got {samplingParams.Count} sampling params for {prompts.Count} prompts; pass one, or one per prompt.", nameof(samplingParams));
        if (priority is not null && priority.Count != prompts.Count)
            throw new ArgumentException($"Got {priority.Count} priorities for {prompts.Count} prompts; pass one per prompt.", nameof(priority));

        // Validate and tokenize everything before anything reaches the engine, so a bad prompt leaves nothing behind.
        var processed = new ProcessedRequest[prompts.Count];
        var index = new Dictionary<string, int>(prompts.Count);
        for (int i = 0; i < prompts.Count; i++)
        {
            SamplingParams p = samplingParams is null ? new SamplingParams() : samplingParams[samplingParams.Count == 1 ? 0 : i];
            string id = Interlocked.Increment(ref _requestCounter).ToString();
            processed[i] = _inputProcessor.Process(id, prompts[i], p with { OutputKind = RequestOutputKind.FinalOnly }, Now(), priority?[i] ?? 0);
            index[id] = i;
        }

        var outputProcessor = new OutputProcessor(Tokenizer);
        foreach (ProcessedRequest request in processed)
        {
            outputProcessor.AddRequest(request.RequestId, request.Prompt, request.PromptTokenIds, request.Params, request.ArrivalTime,
                request.Children.Select(c => c.RequestId).ToList());
            foreach (var child in request.Children) EngineCore.AddRequest(child);
        }

        var results = new RequestOutput[prompts.Count];
        using var progress = useProgressBar ? new ProgressBar("Processed prompts", prompts.Count) : null;
        try
        {
            while (EngineCore.HasUnfinishedRequests)
            {
                ProcessedOutputs step = outputProcessor.ProcessOutputs(EngineCore.Step(), Now());
                if (step.ChildRequestsToAbort.Count > 0) EngineCore.AbortRequests(step.ChildRequestsToAbort);
                foreach (RequestOutput output in step.RequestOutputs)
                {
                    if (!output.Finished || !index.TryGetValue(output.RequestId, out int i)) continue;
                    results[i] = output;
                    progress?.Advance();
                }
            }
        }
        catch
        {
            // Leave the engine empty for the next call.
            EngineCore.AbortRequests(processed.SelectMany(r => r.Children).Select(c => c.RequestId));
            throw;
        }
        return results;
    }
}
