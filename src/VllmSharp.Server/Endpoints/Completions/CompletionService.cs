using System.Runtime.CompilerServices;
using System.Threading.Channels;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine;
using VllmSharp.Engine.Core;
using VllmSharp.Server.Logging;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Completions;

/// <summary>
/// Serves <c>/v1/completions</c> on an <see cref="AsyncLLM"/>: every prompt of the request runs concurrently, choices
/// are numbered prompt-major (prompt i, completion j → index i·n + j) as vLLM does. Unset sampling fields take the
/// model's recommended <paramref name="defaults"/> (--generation-config).
/// </summary>
public sealed class CompletionService(AsyncLLM engine, GenerationConfigDefaults? defaults = null, RequestLogger? requestLogger = null)
{
    private readonly PromptLengthGuard _guard = new(engine.Tokenizer, engine.MaxModelLen);

    public async Task<CompletionResponse> CreateAsync(CompletionRequest request, string requestId, string model, CancellationToken cancellationToken = default)
    {
        (List<PromptInput> prompts, SamplingParams samplingParams) = Prepare(request, requestId, RequestOutputKind.FinalOnly);
        var runs = new Task<RequestOutput>[prompts.Count];
        for (int i = 0; i < prompts.Count; i++)
            runs[i] = LastAsync(engine.GenerateAsync(prompts[i], samplingParams, $"{requestId}-{i}", cancellationToken: cancellationToken));
        RequestOutput[] outputs = await Task.WhenAll(runs).ConfigureAwait(false);

        var choices = new List<CompletionChoice>();
        int promptTokens = 0, completionTokens = 0;
        for (int i = 0; i < outputs.Length; i++)
        {
            RequestOutput output = outputs[i];
            promptTokens += output.PromptTokenIds.Count;
            string echo = request.Echo == true ? PromptText(output) : "";
            foreach (CompletionOutput completion in output.Outputs)
            {
                completionTokens += completion.TokenIds.Count;
                int offset = echo.Length;
                CompletionLogprobs? logprobs = request.Echo == true
                    ? EchoLogprobs(output, completion, request.Logprobs)
                    : Logprobs(completion, samplingParams, ref offset);
                choices.Add(new CompletionChoice(i * samplingParams.N + completion.Index, echo + completion.Text, logprobs,
                    completion.FinishReason, completion.StopReason,
                    request.PromptLogprobs is not null && output.PromptLogprobs is { } prompt ? PromptLogprobEntry.Format(engine.Tokenizer, prompt) : null));
            }
        }
        return new CompletionResponse($"cmpl-{requestId}", "text_completion", Now(), model, choices,
            new UsageInfo(promptTokens, completionTokens, promptTokens + completionTokens));
    }

    /// <summary>Streams text deltas of every choice as they are generated; the last chunk of a choice carries its finish_reason.</summary>
    public async IAsyncEnumerable<CompletionStreamChunk> StreamAsync(CompletionRequest request, string requestId, string model,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        (List<PromptInput> prompts, SamplingParams samplingParams) = Prepare(request, requestId, RequestOutputKind.Delta);
        string id = $"cmpl-{requestId}";
        long created = Now();
        bool includeUsage = request.StreamOptions?.IncludeUsage == true;
        bool continuousUsage = includeUsage && request.StreamOptions?.ContinuousUsageStats == true;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var merged = Channel.CreateUnbounded<(int Prompt, RequestOutput Output)>();
        var producers = new Task[prompts.Count];
        for (int i = 0; i < prompts.Count; i++)
        {
            int index = i;
            producers[i] = Task.Run(async () =>
            {
                await foreach (RequestOutput output in engine.GenerateAsync(prompts[index], samplingParams, $"{requestId}-{index}", cancellationToken: stop.Token).ConfigureAwait(false))
                    await merged.Writer.WriteAsync((index, output), stop.Token).ConfigureAwait(false);
            }, stop.Token);
        }
        _ = Task.WhenAll(producers).ContinueWith(t => merged.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);

        int promptTokens = prompts.Sum(p => p.TokenIds!.Count), completionTokens = 0;
        var echoed = new HashSet<int>();
        var offsets = new Dictionary<int, int>(); // text_offset continues across a choice's chunks
        try
        {
            await foreach ((int prompt, RequestOutput output) in merged.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var choices = new List<CompletionChoice>(output.Outputs.Count);
                foreach (CompletionOutput completion in output.Outputs)
                {
                    int index = prompt * samplingParams.N + completion.Index;
                    string text = completion.Text;
                    if (request.Echo == true && echoed.Add(index)) text = PromptText(output) + text;
                    completionTokens += completion.TokenIds.Count;
                    int offset = offsets.GetValueOrDefault(index, text.Length - completion.Text.Length);
                    CompletionLogprobs? logprobs = Logprobs(completion, samplingParams, ref offset);
                    offsets[index] = offset;
                    choices.Add(new CompletionChoice(index, text, logprobs, completion.FinishReason, completion.StopReason));
                }
                UsageInfo? usage = continuousUsage ? new UsageInfo(promptTokens, completionTokens, promptTokens + completionTokens) : null;
                yield return new CompletionStreamChunk(id, "text_completion", created, model, choices, usage);
            }
        }
        finally
        {
            stop.Cancel(); // a consumer that stops early (client gone) aborts every prompt
        }
        if (includeUsage)
            yield return new CompletionStreamChunk(id, "text_completion", created, model, [], new UsageInfo(promptTokens, completionTokens, promptTokens + completionTokens));
    }

    /// <summary>Validates, tokenizes, and checks prompt + max_tokens against the model length (400 as vLLM).</summary>
    private (List<PromptInput> Prompts, SamplingParams Params) Prepare(CompletionRequest request, string requestId, RequestOutputKind kind)
    {
        if (request.Logprobs is < 0 or > 20) throw new InvalidRequestException($"logprobs must be in 0..20, got {request.Logprobs}.", "logprobs");
        if (request.Echo == true && request.Logprobs is not null && request.Stream == true)
            throw new NotSupportedException("`echo` with `logprobs` is not supported by this server yet when streaming.");
        SamplingParams samplingParams = request.ToSamplingParams(kind, defaults) with { Logprobs = request.Logprobs };
        // As vLLM: echo with logprobs also returns the prompt tokens' logprobs, so the engine computes them.
        if (request.Echo == true && request.Logprobs is int k)
            samplingParams = samplingParams with { PromptLogprobs = Math.Max(k, samplingParams.PromptLogprobs ?? 0) };
        LogitsProcessorChecks.CheckVocabulary(samplingParams, engine.Tokenizer.VocabSize);
        var prompts = new List<PromptInput>();
        foreach ((string? given, int[]? ids) in request.Prompts())
        {
            string? text = given;
            // A prompt to be truncated may be longer than the model: only its kept tail has to fit.
            if (text is not null && request.TruncatePromptTokens is null) _guard.Check(text);
            IReadOnlyList<int> tokens = ids ?? engine.Tokenizer.Encode(text!, addSpecialTokens: true);
            IReadOnlyList<int> kept = PromptTruncation.Apply(tokens, request.TruncatePromptTokens, engine.MaxModelLen);
            if (!ReferenceEquals(kept, tokens))
            {
                tokens = kept;
                text = text is null ? null : engine.Tokenizer.Decode([.. kept], skipSpecialTokens: false);
            }
            SamplingRequest.CheckLength(tokens.Count, samplingParams.MaxTokens, engine.MaxModelLen);
            prompts.Add(new PromptInput(text, tokens));
            requestLogger?.Received($"cmpl-{requestId}-{prompts.Count - 1}", text, tokens.Count, samplingParams);
        }
        return (prompts, samplingParams);
    }

    /// <summary>The choice's logprobs object (null unless asked for); <paramref name="offset"/> is its first token's text offset.</summary>
    private CompletionLogprobs? Logprobs(CompletionOutput completion, SamplingParams samplingParams, ref int offset)
    {
        if (samplingParams.Logprobs is not int k || completion.Logprobs is not { } positions) return null;
        var logprobs = CompletionLogprobs.Empty();
        logprobs.Append(engine.Tokenizer, completion.TokenIds, positions, k, ref offset);
        return logprobs;
    }

    /// <summary>echo + logprobs: the prompt tokens (the first with null values) then the completion's, offsets from 0.</summary>
    private CompletionLogprobs? EchoLogprobs(RequestOutput output, CompletionOutput completion, int? topK)
    {
        if (topK is not int k || completion.Logprobs is not { } positions || output.PromptLogprobs is not { } prompt) return null;
        var logprobs = CompletionLogprobs.Empty();
        int offset = 0;
        logprobs.Append(engine.Tokenizer, output.PromptTokenIds, prompt, k, ref offset);
        logprobs.Append(engine.Tokenizer, completion.TokenIds, positions, k, ref offset);
        return logprobs;
    }

    private string PromptText(RequestOutput output) => output.Prompt ?? engine.Tokenizer.Decode([.. output.PromptTokenIds], skipSpecialTokens: false);

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static async Task<RequestOutput> LastAsync(IAsyncEnumerable<RequestOutput> stream)
    {
        RequestOutput? last = null;
        await foreach (RequestOutput output in stream.ConfigureAwait(false)) last = output;
        return last ?? throw new InvalidOperationException("The engine ended the request without an output.");
    }
}
