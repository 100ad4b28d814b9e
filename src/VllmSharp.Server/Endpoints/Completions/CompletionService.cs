using VllmSharp.Core.Errors;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine;
using VllmSharp.Engine.Core;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Completions;

/// <summary>
/// Serves a (non-streaming) <c>/v1/completions</c> request on an <see cref="AsyncLLM"/>: every prompt of the request
/// runs concurrently, choices are numbered prompt-major (prompt i, completion j → index i·n + j) as vLLM does.
/// </summary>
public sealed class CompletionService(AsyncLLM engine, string servedModelName)
{
    public async Task<CompletionResponse> CreateAsync(CompletionRequest request, string requestId, CancellationToken cancellationToken = default)
    {
        if (request.Stream == true) throw new InvalidRequestException("stream is not supported here.", "stream");
        IReadOnlyList<(string? Text, int[]? TokenIds)> prompts = request.Prompts();
        SamplingParams samplingParams = request.ToSamplingParams();
        samplingParams.Validate();

        var runs = new Task<RequestOutput>[prompts.Count];
        for (int i = 0; i < prompts.Count; i++)
        {
            var prompt = prompts[i].Text is { } text ? (PromptInput)text : PromptInput.FromTokens(prompts[i].TokenIds!);
            runs[i] = LastAsync(engine.GenerateAsync(prompt, samplingParams, $"{requestId}-{i}", cancellationToken: cancellationToken));
        }
        RequestOutput[] outputs = await Task.WhenAll(runs).ConfigureAwait(false);

        var choices = new List<CompletionChoice>();
        int promptTokens = 0, completionTokens = 0;
        for (int i = 0; i < outputs.Length; i++)
        {
            RequestOutput output = outputs[i];
            promptTokens += output.PromptTokenIds.Count;
            string echo = request.Echo == true ? output.Prompt ?? engine.Tokenizer.Decode([.. output.PromptTokenIds], skipSpecialTokens: false) : "";
            foreach (CompletionOutput completion in output.Outputs)
            {
                completionTokens += completion.TokenIds.Count;
                choices.Add(new CompletionChoice(i * samplingParams.N + completion.Index, echo + completion.Text, null,
                    completion.FinishReason, completion.StopReason));
            }
        }
        return new CompletionResponse($"cmpl-{requestId}", "text_completion", DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            request.Model ?? servedModelName, choices, new UsageInfo(promptTokens, completionTokens, promptTokens + completionTokens));
    }

    private static async Task<RequestOutput> LastAsync(IAsyncEnumerable<RequestOutput> stream)
    {
        RequestOutput? last = null;
        await foreach (RequestOutput output in stream.ConfigureAwait(false)) last = output;
        return last ?? throw new InvalidOperationException("The engine ended the request without an output.");
    }
}
