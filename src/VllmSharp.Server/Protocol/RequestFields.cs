using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using VllmSharp.Core.Errors;

namespace VllmSharp.Server.Protocol;

/// <summary>
/// Checks the top-level field names of a request body, as the OpenAI API does: a name neither OpenAI nor vLLM defines
/// is refused with OpenAI's 400 "Unrecognized request argument supplied"; a field they define that this server does
/// not implement yet answers 501 naming it (rather than being silently ignored, which would let a client believe
/// e.g. JSON mode was on); a few OpenAI fields with no effect on a local server are accepted and ignored.
/// </summary>
public static class RequestFields
{
    /// <summary>OpenAI fields that change nothing here (billing, storage, tracing): accepted, ignored.</summary>
    private static readonly HashSet<string> s_ignored = ["metadata", "store", "service_tier", "user", "modalities"];

    /// <summary>OpenAI / vLLM fields not implemented yet (a null value, meaning "unset", is still accepted).</summary>
    private static readonly HashSet<string> s_notImplemented =
    [
        "guided_whitespace_pattern",
        "use_beam_search", "length_penalty", "logits_processors", "priority",
        "return_tokens_as_token_ids", "return_token_ids", "kv_transfer_params", "vllm_xargs", "cache_salt", "request_id",
        "mm_processor_kwargs", "suffix", "prompt_embeds", "spaces_between_special_tokens", "add_special_tokens", "echo",
        "chat_template", "functions", "function_call", "audio", "prediction", "web_search_options", "reasoning_effort",
        "media_io_kwargs", "return_token_strs", "thinking_token_budget",
    ];

    private static readonly ConcurrentDictionary<Type, HashSet<string>> s_mapped = new();
    // A resolver of its own: asking the shared options for type metadata would first require freezing them.
    private static readonly DefaultJsonTypeInfoResolver s_resolver = new();

    /// <summary>Throws for the first field of the JSON object <paramref name="body"/> that <paramref name="type"/> cannot take.</summary>
    public static void Check(ReadOnlySpan<byte> body, Type type)
    {
        HashSet<string> mapped = s_mapped.GetOrAdd(type, t => [.. s_resolver.GetTypeInfo(t, OpenAIJson.Options).Properties.Select(p => p.Name)]);
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return; // the deserializer reports it
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                bool isNull = reader.TokenType == JsonTokenType.Null;
                reader.Skip();
                if (mapped.Contains(name) || s_ignored.Contains(name)) continue;
                if (s_notImplemented.Contains(name))
                {
                    if (isNull) continue; // "unset"
                    throw new NotSupportedException($"`{name}` is not supported by this server yet.");
                }
                throw new InvalidRequestException($"Unrecognized request argument supplied: {name}", name);
            }
        }
        catch (JsonException)
        {
            // Malformed or too deep: the deserializer reports it with its position.
        }
    }
}
