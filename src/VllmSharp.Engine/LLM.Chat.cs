using System.Text.Json;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Chat;
using VllmSharp.Engine.Core;

namespace VllmSharp.Engine;

public sealed partial class LLM
{
    private ChatPromptRenderer? _chatRenderer;

    /// <summary>
    /// vLLM's <c>LLM.chat</c> for one conversation: renders it with the model's chat template (or
    /// <paramref name="chatTemplate"/>), then generates. Returns one output, as a list like vLLM.
    /// </summary>
    public IReadOnlyList<RequestOutput> Chat(IReadOnlyList<ChatTurn> messages, SamplingParams? samplingParams = null,
        bool useProgressBar = true, bool addGenerationPrompt = true, bool continueFinalMessage = false, string? chatTemplate = null,
        IReadOnlyDictionary<string, JsonElement>? chatTemplateKwargs = null, JsonElement? tools = null)
        => Chat([messages], samplingParams, useProgressBar, addGenerationPrompt, continueFinalMessage, chatTemplate, chatTemplateKwargs, tools);

    /// <summary>
    /// vLLM's <c>LLM.chat</c> for a batch of conversations, all run together with continuous batching; outputs are in
    /// conversation order. <paramref name="tools"/> (OpenAI's tools array) reaches the template as vLLM's
    /// <c>tools=</c> does; the reply stays text (parsing calls out of it is the server's job).
    /// </summary>
    public IReadOnlyList<RequestOutput> Chat(IReadOnlyList<IReadOnlyList<ChatTurn>> conversations, SamplingParams? samplingParams = null,
        bool useProgressBar = true, bool addGenerationPrompt = true, bool continueFinalMessage = false, string? chatTemplate = null,
        IReadOnlyDictionary<string, JsonElement>? chatTemplateKwargs = null, JsonElement? tools = null)
    {
        ArgumentNullException.ThrowIfNull(conversations);
        var json = new JsonElement[conversations.Count];
        for (int i = 0; i < json.Length; i++) json[i] = ChatTurn.ToJsonArray(conversations[i]);
        return ChatCore(json, samplingParams, useProgressBar, addGenerationPrompt, continueFinalMessage, chatTemplate, chatTemplateKwargs, tools);
    }

    /// <summary>
    /// <c>LLM.chat</c> on OpenAI-style JSON: <paramref name="messages"/> is one <c>messages</c> array (objects with
    /// <c>role</c> and <c>content</c>, content as a string or text parts), or an array of such arrays for a batch.
    /// </summary>
    public IReadOnlyList<RequestOutput> Chat(JsonElement messages, SamplingParams? samplingParams = null,
        bool useProgressBar = true, bool addGenerationPrompt = true, bool continueFinalMessage = false, string? chatTemplate = null,
        IReadOnlyDictionary<string, JsonElement>? chatTemplateKwargs = null, JsonElement? tools = null)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw new InvalidRequestException("messages must be a non-empty list.", "messages");
        // As vLLM: a list whose first item is itself a list is a batch of conversations.
        JsonElement[] conversations = messages[0].ValueKind == JsonValueKind.Array ? [.. messages.EnumerateArray()] : [messages];
        return ChatCore(conversations, samplingParams, useProgressBar, addGenerationPrompt, continueFinalMessage, chatTemplate, chatTemplateKwargs, tools);
    }

    private IReadOnlyList<RequestOutput> ChatCore(IReadOnlyList<JsonElement> conversations, SamplingParams? samplingParams, bool useProgressBar,
        bool addGenerationPrompt, bool continueFinalMessage, string? chatTemplate, IReadOnlyDictionary<string, JsonElement>? chatTemplateKwargs,
        JsonElement? tools)
    {
        ChatPromptRenderer renderer = chatTemplate is null ? _chatRenderer ??= new ChatPromptRenderer(Tokenizer) : new ChatPromptRenderer(Tokenizer, chatTemplate);
        // Render and encode everything first, so a bad conversation fails the call before anything runs.
        var prompts = new PromptInput[conversations.Count];
        for (int i = 0; i < prompts.Length; i++)
        {
            string text = renderer.Render(conversations[i], addGenerationPrompt, continueFinalMessage, tools, chatTemplateKwargs: chatTemplateKwargs);
            // The template already wrote any BOS it wants: no special tokens added again (as vLLM and the server do).
            IReadOnlyList<int> tokens = Tokenizer.Encode(text, addSpecialTokens: false);
            if (tokens.Count == 0) throw new InvalidRequestException("The rendered chat prompt is empty.", "messages");
            prompts[i] = new PromptInput(text, tokens);
        }
        return Generate(prompts, samplingParams is null ? null : [samplingParams], useProgressBar);
    }
}
