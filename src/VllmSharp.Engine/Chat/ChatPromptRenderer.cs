using System.Text.Json;
using System.Text.Json.Nodes;
using VllmSharp.Core.Errors;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Engine.Tokenization.ChatTemplates;

namespace VllmSharp.Engine.Chat;

/// <summary>
/// Turns an OpenAI <c>messages</c> list into the prompt text the model was trained on, with the model's chat template
/// (from <c>--chat-template</c>, else <c>chat_template.jinja</c> / <c>tokenizer_config.json</c>), as vLLM's
/// apply_hf_chat_template: the template sees <c>messages</c>, <c>bos_token</c>, <c>eos_token</c>,
/// <c>add_generation_prompt</c>, <c>tools</c>, <c>documents</c> and every <c>chat_template_kwargs</c> entry.
/// </summary>
public sealed class ChatPromptRenderer
{
    private readonly ITokenizer _tokenizer;
    private readonly ChatTemplate? _template;

    public ChatPromptRenderer(ITokenizer tokenizer, string? chatTemplateOverride = null)
    {
        _tokenizer = tokenizer;
        string? source = chatTemplateOverride ?? tokenizer.ChatTemplate;
        _template = source is null ? null : ChatTemplate.Parse(source);
    }

    public bool HasTemplate => _template is not null;

    public string Render(JsonElement messages, bool addGenerationPrompt = true, bool continueFinalMessage = false,
        JsonElement? tools = null, JsonElement? documents = null, IReadOnlyDictionary<string, JsonElement>? chatTemplateKwargs = null)
    {
        if (_template is null)
            throw new InvalidRequestException("This model has no chat template; pass one with --chat-template, or use /v1/completions.");
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw new InvalidRequestException("messages must be a non-empty list.", "messages");
        if (addGenerationPrompt && continueFinalMessage)
            throw new InvalidRequestException("continue_final_message and add_generation_prompt cannot both be true.", "continue_final_message");

        List<object?> normalized = Normalize(messages);
        var context = new Dictionary<string, object?>
        {
            ["messages"] = normalized,
            ["bos_token"] = _tokenizer.BosTokenId is int bos ? _tokenizer.IdToToken(bos) : "",
            ["eos_token"] = _tokenizer.EosTokenIds.Count > 0 ? _tokenizer.IdToToken(_tokenizer.EosTokenIds[0]) : "",
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        if (tools is { ValueKind: not JsonValueKind.Null }) context["tools"] = tools.Value;
        if (documents is { ValueKind: not JsonValueKind.Null }) context["documents"] = documents.Value;
        if (chatTemplateKwargs is not null)
            foreach ((string key, JsonElement value) in chatTemplateKwargs) context[key] = value;

        string prompt;
        try
        {
            prompt = _template.Render(context);
        }
        catch (ChatTemplateException e)
        {
            throw new InvalidRequestException($"The chat template failed: {e.Message}", "messages");
        }
        if (continueFinalMessage) prompt = TrimAfterFinalMessage(prompt, normalized);
        return prompt;
    }

    /// <summary>Message content given as a list of parts is flattened to its text, as vLLM does for string-content templates.</summary>
    private static List<object?> Normalize(JsonElement messages)
    {
        var list = new List<object?>();
        foreach (JsonElement message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object) throw new InvalidRequestException("Each message must be an object.", "messages");
            if (!message.TryGetProperty("role", out JsonElement role) || role.ValueKind != JsonValueKind.String)
                throw new InvalidRequestException("Each message needs a string role.", "messages");
            var dict = new Dictionary<string, object?>();
            foreach (JsonProperty p in message.EnumerateObject()) dict[p.Name] = p.Value;
            if (message.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.Array)
            {
                var texts = new List<string>();
                foreach (JsonElement part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out JsonElement type) && type.GetString() == "text"
                        && part.TryGetProperty("text", out JsonElement text) && text.ValueKind == JsonValueKind.String)
                        texts.Add(text.GetString()!);
                    else
                        throw new InvalidRequestException("Only text content parts are supported.", "messages");
                }
                dict["content"] = string.Join("\n", texts);
            }
            // A null or missing content (an assistant turn that only calls tools) reaches the template as "", as vLLM passes it.
            if (!dict.TryGetValue("content", out object? given) || given is JsonElement { ValueKind: JsonValueKind.Null }) dict["content"] = "";
            if (message.TryGetProperty("tool_calls", out JsonElement calls) && calls.ValueKind == JsonValueKind.Array)
                dict["tool_calls"] = WithParsedArguments(calls);
            list.Add(dict);
        }
        return list;
    }

    /// <summary>
    /// An assistant turn's tool calls with each <c>function.arguments</c> JSON string parsed into an object, as vLLM
    /// passes them: templates write them with <c>tojson</c> (Qwen2.5, Llama 3) and would otherwise print a quoted
    /// string. Arguments that are not valid JSON stay the string the client sent; missing, null or empty ones become {}.
    /// </summary>
    private static JsonElement WithParsedArguments(JsonElement calls)
    {
        JsonArray array = JsonNode.Parse(calls.GetRawText())!.AsArray();
        foreach (JsonNode? call in array)
        {
            if (call?["function"] is not JsonObject function) continue;
            // Missing, null or empty arguments are an empty object, as vLLM passes them.
            if (function["arguments"] is null || function["arguments"] is JsonValue blank && blank.TryGetValue(out string? empty) && string.IsNullOrWhiteSpace(empty))
            {
                function["arguments"] = new JsonObject();
                continue;
            }
            if (function["arguments"] is not JsonValue value || !value.TryGetValue(out string? arguments)) continue;
            try
            {
                function["arguments"] = JsonNode.Parse(arguments) ?? new JsonObject();
            }
            catch (JsonException)
            {
            }
        }
        return JsonSerializer.SerializeToElement(array);
    }

    /// <summary>
    /// continue_final_message, as Hugging Face's apply_chat_template: cut the rendered prompt right after the last
    /// occurrence of the final message's content (or of its trimmed content, for templates that trim), so the model
    /// continues that message instead of starting a new turn.
    /// </summary>
    private static string TrimAfterFinalMessage(string prompt, List<object?> messages)
    {
        var last = (Dictionary<string, object?>)messages[^1]!;
        string content = last.TryGetValue("content", out object? c) ? c switch
        {
            string s => s,
            JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
            _ => "",
        } : "";
        if (content.Length == 0) return prompt;
        foreach (string candidate in new[] { content, content.Trim() })
        {
            int at = candidate.Length == 0 ? -1 : prompt.LastIndexOf(candidate, StringComparison.Ordinal);
            if (at >= 0) return prompt[..(at + candidate.Length)];
        }
        throw new InvalidRequestException(
            "continue_final_message is set but the final message does not appear in the chat after applying the chat template.", "continue_final_message");
    }
}
