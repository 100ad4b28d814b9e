using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Core;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace VllmSharp.Engine.Chat;

/// <summary>
/// <see cref="IChatClient"/> (Microsoft.Extensions.AI) over an in-process <see cref="AsyncLLM"/>, so .NET apps use the
/// engine like any other chat service. Messages are rendered with the model's chat template exactly as
/// <c>/v1/chat/completions</c> does; <see cref="ChatOptions"/> map onto <see cref="SamplingParams"/>. The client does
/// not own the engine: disposing it leaves the engine running.
/// </summary>
public sealed class VllmChatClient : IChatClient
{
    private readonly AsyncLLM _engine;
    private readonly ChatPromptRenderer _renderer;
    private readonly ChatClientMetadata _metadata;

    public VllmChatClient(AsyncLLM engine, string? modelId = null, string? chatTemplate = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        _renderer = new ChatPromptRenderer(engine.Tokenizer, chatTemplate);
        ModelId = modelId ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(engine.ModelPath));
        _metadata = new ChatClientMetadata("vllmsharp", null, ModelId);
    }

    /// <summary>The model name reported on responses (default: the model directory or file name).</summary>
    public string ModelId { get; }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AIChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        (PromptInput prompt, SamplingParams samplingParams) = Prepare(messages, options, RequestOutputKind.FinalOnly);
        string id = NewResponseId();
        RequestOutput? last = null;
        await foreach (RequestOutput output in _engine.GenerateAsync(prompt, samplingParams, id, cancellationToken: cancellationToken).ConfigureAwait(false))
            last = output;
        if (last is null || last.Outputs.Count == 0) throw new InvalidOperationException($"The engine ended request {id} without an output.");

        CompletionOutput completion = last.Outputs[0];
        return new ChatResponse(new AIChatMessage(ChatRole.Assistant, completion.Text) { MessageId = id })
        {
            ResponseId = id,
            ModelId = ModelId,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = ToFinishReason(completion.FinishReason),
            Usage = Usage(last.PromptTokenIds.Count, completion.TokenIds.Count, last.NumCachedTokens),
            RawRepresentation = last,
        };
    }

    /// <summary>
    /// One update per engine step that produced text; the last carries the finish reason and a <see cref="UsageContent"/>.
    /// Stopping the enumeration (cancellation, <c>break</c>) aborts the request and frees its KV blocks.
    /// </summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AIChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        (PromptInput prompt, SamplingParams samplingParams) = Prepare(messages, options, RequestOutputKind.Delta);
        string id = NewResponseId();
        DateTimeOffset created = DateTimeOffset.UtcNow;
        int completionTokens = 0;
        await foreach (RequestOutput output in _engine.GenerateAsync(prompt, samplingParams, id, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (output.Outputs.Count == 0) continue;
            CompletionOutput delta = output.Outputs[0];
            completionTokens += delta.TokenIds.Count;
            var contents = new List<AIContent>(2);
            if (delta.Text.Length > 0) contents.Add(new TextContent(delta.Text));
            if (output.Finished) contents.Add(new UsageContent(Usage(output.PromptTokenIds.Count, completionTokens, output.NumCachedTokens)));
            // A step can produce tokens but no text yet (held back for a possible stop string, or an incomplete UTF-8
            // sequence): nothing to tell the caller until something arrives.
            if (contents.Count == 0) continue;
            yield return new ChatResponseUpdate(ChatRole.Assistant, contents)
            {
                ResponseId = id,
                MessageId = id,
                ModelId = ModelId,
                CreatedAt = created,
                FinishReason = ToFinishReason(delta.FinishReason),
                RawRepresentation = output,
            };
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType == typeof(AsyncLLM)) return _engine;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>The engine belongs to the caller; nothing to release here.</summary>
    public void Dispose() { }

    private (PromptInput Prompt, SamplingParams Params) Prepare(IEnumerable<AIChatMessage> messages, ChatOptions? options, RequestOutputKind kind)
    {
        ArgumentNullException.ThrowIfNull(messages);
        SamplingParams samplingParams = ToSamplingParams(options) with { OutputKind = kind };
        string text = _renderer.Render(ToTemplateMessages(messages, options?.Instructions));
        // The template already wrote any BOS it wants: no special tokens added again (as vLLM and the server do).
        IReadOnlyList<int> tokens = _engine.Tokenizer.Encode(text, addSpecialTokens: false);
        if (tokens.Count == 0) throw new InvalidRequestException("The rendered chat prompt is empty.", "messages");
        return (new PromptInput(text, tokens), samplingParams);
    }

    /// <summary>
    /// ChatOptions → SamplingParams. Unset options keep the OpenAI server's defaults (temperature 1, top_p 1, no top_k,
    /// up to the model's context length). A few vLLM-only knobs are read from <see cref="ChatOptions.AdditionalProperties"/>
    /// under their vLLM names: <c>min_p</c>, <c>repetition_penalty</c>, <c>min_tokens</c>, <c>ignore_eos</c>.
    /// </summary>
    public static SamplingParams ToSamplingParams(ChatOptions? options)
    {
        var p = new SamplingParams { MaxTokens = null };
        if (options is null) return p;
        if (options.Tools is { Count: > 0 })
            throw new NotSupportedException("Tool calling is not supported by VllmChatClient yet.");

        p = p with
        {
            Temperature = options.Temperature ?? p.Temperature,
            TopP = options.TopP ?? p.TopP,
            TopK = options.TopK ?? p.TopK,
            MaxTokens = options.MaxOutputTokens,
            // JSON formats constrain generation as the server's response_format does (any object, or the schema).
            StructuredOutputs = options.ResponseFormat switch
            {
                ChatResponseFormatJson { Schema: { } schema } => StructuredOutputsParams.ForJson(schema.GetRawText()),
                ChatResponseFormatJson => StructuredOutputsParams.ForJsonObject(),
                _ => null,
            },
            Stop = options.StopSequences is { Count: > 0 } stop ? [.. stop] : [],
            Seed = options.Seed,
            FrequencyPenalty = options.FrequencyPenalty ?? 0,
            PresencePenalty = options.PresencePenalty ?? 0,
        };
        if (options.AdditionalProperties is { } extra)
        {
            if (extra.TryGetValue("min_p", out double minP)) p = p with { MinP = minP };
            if (extra.TryGetValue("repetition_penalty", out double repetition)) p = p with { RepetitionPenalty = repetition };
            if (extra.TryGetValue("min_tokens", out int minTokens)) p = p with { MinTokens = minTokens };
            if (extra.TryGetValue("ignore_eos", out bool ignoreEos)) p = p with { IgnoreEos = ignoreEos };
        }
        return p;
    }

    /// <summary>Text messages → the OpenAI messages JSON the template renders; Instructions become a leading system message.</summary>
    private static JsonElement ToTemplateMessages(IEnumerable<AIChatMessage> messages, string? instructions)
    {
        var list = new List<ChatTurn>();
        if (!string.IsNullOrEmpty(instructions)) list.Add(ChatTurn.System(instructions));
        foreach (AIChatMessage message in messages)
        {
            foreach (AIContent content in message.Contents)
                if (content is not (TextContent or TextReasoningContent or UsageContent))
                    throw new NotSupportedException($"Only text message contents are supported, got {content.GetType().Name}.");
            // Text concatenates the TextContent parts only (reasoning is not replayed into the prompt).
            list.Add(new ChatTurn(message.Role.Value, message.Text));
        }
        if (list.Count == 0) throw new InvalidRequestException("messages must be a non-empty list.", "messages");
        return ChatTurn.ToJsonArray(list);
    }

    private static ChatFinishReason? ToFinishReason(string? reason) => reason switch
    {
        null => null,
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        _ => new ChatFinishReason(reason),
    };

    private static UsageDetails Usage(int promptTokens, int completionTokens, int cachedTokens) => new()
    {
        InputTokenCount = promptTokens,
        OutputTokenCount = completionTokens,
        TotalTokenCount = promptTokens + completionTokens,
        CachedInputTokenCount = cachedTokens,
    };

    private static string NewResponseId() => "chatcmpl-" + Guid.NewGuid().ToString("N");
}
