using System.Runtime.CompilerServices;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine;
using VllmSharp.Engine.Chat;
using VllmSharp.Engine.Core;
using VllmSharp.Server.Endpoints.Chat.ToolCalls;
using VllmSharp.Server.Logging;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Chat;

/// <summary>
/// Serves <c>/v1/chat/completions</c>: renders the messages with the chat template, then generates. Unset sampling
/// fields take the model's recommended <paramref name="defaults"/> (--generation-config). With <c>tools</c>, the reply's
/// text goes through a <see cref="ToolCallExtractor"/> that turns it into <c>tool_calls</c> (<see cref="ToolChoice"/>).
/// </summary>
public sealed class ChatService(AsyncLLM engine, ChatPromptRenderer renderer, GenerationConfigDefaults? defaults = null,
    RequestLogger? requestLogger = null, ToolCallOptions? toolCalling = null)
{
    private const string Fingerprint = "vllmsharp";
    private readonly PromptLengthGuard _guard = new(engine.Tokenizer, engine.MaxModelLen);
    private readonly ToolCallOptions _toolCalling = toolCalling ?? new ToolCallOptions();

    public async Task<ChatCompletionResponse> CreateAsync(ChatCompletionRequest request, string requestId, string model, CancellationToken cancellationToken)
    {
        (PromptInput prompt, SamplingParams samplingParams, ToolChoice tools) = Prepare(request, requestId, RequestOutputKind.FinalOnly);
        RequestOutput? output = null;
        await foreach (RequestOutput o in engine.GenerateAsync(prompt, samplingParams, requestId, cancellationToken: cancellationToken).ConfigureAwait(false))
            output = o;
        var choices = output!.Outputs.Select(c => Choice(c, samplingParams, tools)).ToList();
        int completionTokens = output.Outputs.Sum(c => c.TokenIds.Count);
        return new ChatCompletionResponse($"chatcmpl-{requestId}", "chat.completion", Now(), model, choices,
            new UsageInfo(output.PromptTokenIds.Count, completionTokens, output.PromptTokenIds.Count + completionTokens), Fingerprint,
            output.PromptLogprobs is { } promptLogprobs ? PromptLogprobEntry.Format(engine.Tokenizer, promptLogprobs) : null);
    }

    public async IAsyncEnumerable<ChatCompletionChunk> StreamAsync(ChatCompletionRequest request, string requestId, string model,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        (PromptInput prompt, SamplingParams samplingParams, ToolChoice tools) = Prepare(request, requestId, RequestOutputKind.Delta);
        var extractors = new ToolCallExtractor?[samplingParams.N];
        string id = $"chatcmpl-{requestId}";
        long created = Now();
        bool includeUsage = request.StreamOptions?.IncludeUsage == true;
        bool continuousUsage = includeUsage && request.StreamOptions?.ContinuousUsageStats == true;
        int promptTokens = prompt.TokenIds!.Count, completionTokens = 0;

        // The role comes first, in its own delta per choice, as OpenAI sends it.
        var roles = Enumerable.Range(0, samplingParams.N).Select(i => new ChatChunkChoice(i, new ChatDelta("assistant", ""), null, null, null)).ToList();
        yield return Chunk(roles, continuousUsage ? new UsageInfo(promptTokens, 0, promptTokens) : null);

        await foreach (RequestOutput output in engine.GenerateAsync(prompt, samplingParams, requestId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var choices = new List<ChatChunkChoice>(output.Outputs.Count);
            foreach (CompletionOutput c in output.Outputs)
            {
                completionTokens += c.TokenIds.Count;
                ToolCallExtractor? extractor = extractors[c.Index] ??= tools.NewExtractor(_toolCalling);
                if (extractor is null)
                {
                    choices.Add(new ChatChunkChoice(c.Index, new ChatDelta(null, c.Text), Logprobs(c, samplingParams), c.FinishReason, c.StopReason));
                    continue;
                }
                ToolCallStep step = extractor.Push(c.Text, final: c.FinishReason is not null);
                ChatLogprobs? logprobs = Logprobs(c, samplingParams);
                // Text held back (a possible call marker) makes no chunk, as in vLLM, unless it carries logprobs.
                if (step.IsEmpty && c.FinishReason is null && logprobs is null) continue;
                var delta = new ChatDelta(null, step.Content ?? (step.ToolCalls.Count > 0 ? null : ""), step.ToolCalls.Count > 0 ? step.ToolCalls : null);
                choices.Add(new ChatChunkChoice(c.Index, delta, logprobs, tools.FinishReason(c.FinishReason, extractor.CallCount > 0), c.StopReason));
            }
            if (choices.Count > 0 || continuousUsage)
                yield return Chunk(choices, continuousUsage ? new UsageInfo(promptTokens, completionTokens, promptTokens + completionTokens) : null);
        }
        if (includeUsage) yield return Chunk([], new UsageInfo(promptTokens, completionTokens, promptTokens + completionTokens));

        ChatCompletionChunk Chunk(IReadOnlyList<ChatChunkChoice> choices, UsageInfo? usage)
            => new(id, "chat.completion.chunk", created, model, choices, usage, Fingerprint);
    }

    /// <summary>A non-streamed choice: the whole text through the tool-call extractor (if any) at once.</summary>
    private ChatChoice Choice(CompletionOutput c, SamplingParams samplingParams, ToolChoice tools)
    {
        ChatLogprobs? logprobs = Logprobs(c, samplingParams);
        if (tools.NewExtractor(_toolCalling) is not { } extractor)
            return new ChatChoice(c.Index, new ChatMessage("assistant", c.Text), logprobs, c.FinishReason, c.StopReason);
        ToolCallStep step = extractor.Push(c.Text, final: true);
        List<ToolCall>? calls = step.ToolCalls.Count == 0 ? null : step.ToolCalls
            .GroupBy(d => d.Index)
            .Select(g => new ToolCall(g.First().Id!, "function", new FunctionCall(g.First().Function.Name!, string.Concat(g.Select(d => d.Function.Arguments)))))
            .ToList();
        return new ChatChoice(c.Index, new ChatMessage("assistant", calls is null ? step.Content ?? "" : step.Content, calls), logprobs,
            tools.FinishReason(c.FinishReason, calls is not null), c.StopReason);
    }

    private (PromptInput Prompt, SamplingParams Params, ToolChoice Tools) Prepare(ChatCompletionRequest request, string requestId, RequestOutputKind kind)
    {
        if (request.TopLogprobs is < 0 or > 20) throw new InvalidRequestException($"top_logprobs must be in 0..20, got {request.TopLogprobs}.", "top_logprobs");
        // As vLLM: top_logprobs only means something with logprobs on; logprobs alone returns the chosen tokens' values.
        if (request.TopLogprobs is not null && request.Logprobs != true)
            throw new InvalidRequestException("when using `top_logprobs`, `logprobs` must be set to true.", "top_logprobs");
        ToolChoice tools = ToolChoice.Resolve(request.Tools, request.ToolChoice, request.ParallelToolCalls, _toolCalling);
        SamplingParams samplingParams = request.ToSamplingParams(kind, defaults) with { Logprobs = request.Logprobs == true ? request.TopLogprobs ?? 0 : null };
        // As vLLM: "required" and a named function replace any other output constraint with the tools' schema; the
        // auto parsers need the special tokens some models mark calls with (e.g. [TOOL_CALLS]) left in the text.
        if (tools.Constraint() is { } constraint) samplingParams = samplingParams with { StructuredOutputs = constraint };
        if (tools.Mode == ToolChoiceMode.Auto) samplingParams = samplingParams with { SkipSpecialTokens = false };
        LogitsProcessorChecks.CheckVocabulary(samplingParams, engine.Tokenizer.VocabSize);
        string text = renderer.Render(request.Messages, request.AddGenerationPrompt ?? true, request.ContinueFinalMessage ?? false,
            tools.TemplateTools(_toolCalling), request.Documents, request.ChatTemplateKwargs);
        if (request.TruncatePromptTokens is null) _guard.Check(text);
        // The template already wrote any BOS it wants: no special tokens added again (as vLLM does).
        IReadOnlyList<int> tokens = engine.Tokenizer.Encode(text, addSpecialTokens: false);
        IReadOnlyList<int> kept = PromptTruncation.Apply(tokens, request.TruncatePromptTokens, engine.MaxModelLen);
        if (!ReferenceEquals(kept, tokens))
        {
            tokens = kept;
            text = engine.Tokenizer.Decode([.. kept], skipSpecialTokens: false);
        }
        if (tokens.Count == 0) throw new InvalidRequestException("The rendered chat prompt is empty.", "messages");
        SamplingRequest.CheckLength(tokens.Count, samplingParams.MaxTokens, engine.MaxModelLen);
        requestLogger?.Received($"chatcmpl-{requestId}", text, tokens.Count, samplingParams);
        return (new PromptInput(text, tokens), samplingParams, tools);
    }

    private ChatLogprobs? Logprobs(CompletionOutput completion, SamplingParams samplingParams)
        => samplingParams.Logprobs is int k && completion.Logprobs is { } positions ? ChatLogprobs.From(engine.Tokenizer, positions, k) : null;

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
