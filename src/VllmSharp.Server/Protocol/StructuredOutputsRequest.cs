using System.Text.Json;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Sampling;

namespace VllmSharp.Server.Protocol;

/// <summary>
/// The request fields that constrain the output, as vLLM reads them: OpenAI's <c>response_format</c>
/// (<c>json_object</c>, <c>json_schema</c>), vLLM's <c>structured_outputs</c> object, and the legacy <c>guided_json</c>,
/// <c>guided_regex</c>, <c>guided_choice</c>, <c>guided_grammar</c>. At most one constraint may be given.
/// </summary>
public static class StructuredOutputsRequest
{
    public static StructuredOutputsParams? From(JsonElement? responseFormat, JsonElement? structuredOutputs,
        JsonElement? guidedJson, string? guidedRegex, List<string>? guidedChoice, string? guidedGrammar)
    {
        var found = new List<(string Field, StructuredOutputsParams Params)>(1);
        if (FromResponseFormat(responseFormat) is { } rf) found.Add(("response_format", rf));
        if (FromStructuredOutputs(structuredOutputs) is { } so) found.Add(("structured_outputs", so));
        if (IsSet(guidedJson)) found.Add(("guided_json", StructuredOutputsParams.ForJson(SchemaText(guidedJson!.Value, "guided_json"))));
        if (guidedRegex is not null) found.Add(("guided_regex", StructuredOutputsParams.ForRegex(guidedRegex)));
        if (guidedChoice is not null) found.Add(("guided_choice", StructuredOutputsParams.ForChoice(guidedChoice)));
        if (guidedGrammar is not null) found.Add(("guided_grammar", StructuredOutputsParams.ForGrammar(guidedGrammar)));
        if (found.Count > 1)
            throw new InvalidRequestException(
                $"Only one kind of structured output may be requested, got {string.Join(" and ", found.Select(f => f.Field))}.", found[1].Field);
        if (found.Count == 0) return null;
        found[0].Params.Validate();
        return found[0].Params;
    }

    private static bool IsSet(JsonElement? e) => e is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) };

    private static StructuredOutputsParams? FromResponseFormat(JsonElement? responseFormat)
    {
        if (!IsSet(responseFormat)) return null;
        JsonElement rf = responseFormat!.Value;
        if (rf.ValueKind != JsonValueKind.Object || !rf.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String)
            throw new InvalidRequestException("response_format must be an object with a string `type`.", "response_format");
        switch (type.GetString())
        {
            case "text":
                return null;
            case "json_object":
                return StructuredOutputsParams.ForJsonObject();
            case "json_schema":
                if (!rf.TryGetProperty("json_schema", out JsonElement js) || js.ValueKind != JsonValueKind.Object)
                    throw new InvalidRequestException("response_format of type json_schema needs a `json_schema` object.", "response_format.json_schema");
                if (!js.TryGetProperty("schema", out JsonElement schema) || !IsSet(schema))
                    throw new InvalidRequestException("response_format.json_schema needs a `schema`.", "response_format.json_schema.schema");
                return StructuredOutputsParams.ForJson(SchemaText(schema, "response_format.json_schema.schema"));
            default:
                throw new InvalidRequestException(
                    $"response_format type '{type.GetString()}' is not supported (supported: text, json_object, json_schema).", "response_format.type");
        }
    }

    private static StructuredOutputsParams? FromStructuredOutputs(JsonElement? structuredOutputs)
    {
        if (!IsSet(structuredOutputs)) return null;
        JsonElement so = structuredOutputs!.Value;
        if (so.ValueKind != JsonValueKind.Object)
            throw new InvalidRequestException("structured_outputs must be an object.", "structured_outputs");
        var p = new StructuredOutputsParams();
        foreach (JsonProperty field in so.EnumerateObject())
        {
            if (field.Value.ValueKind == JsonValueKind.Null) continue;
            string param = "structured_outputs." + field.Name;
            p = field.Name switch
            {
                "json" => p with { Json = SchemaText(field.Value, param) },
                "regex" => p with { Regex = String(field.Value, param) },
                "grammar" => p with { Grammar = String(field.Value, param) },
                "choice" => p with { Choice = Strings(field.Value, param) },
                "json_object" => field.Value.ValueKind is JsonValueKind.True or JsonValueKind.False
                    ? p with { JsonObject = field.Value.GetBoolean() }
                    : throw new InvalidRequestException($"{param} must be a boolean.", param),
                // Backend hints with no effect here: there is one backend.
                "disable_fallback" or "disable_any_whitespace" or "disable_additional_properties" or "backend" => p,
                _ => throw new InvalidRequestException($"{param} is not supported (supported: json, regex, choice, grammar, json_object).", param),
            };
        }
        return p;
    }

    /// <summary>A schema given as a JSON object (or boolean), or as a string holding one.</summary>
    private static string SchemaText(JsonElement schema, string param) => schema.ValueKind switch
    {
        JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False => schema.GetRawText(),
        JsonValueKind.String => schema.GetString()!,
        _ => throw new InvalidRequestException($"{param} must be a JSON schema object.", param),
    };

    private static string String(JsonElement e, string param) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new InvalidRequestException($"{param} must be a string.", param);

    private static List<string> Strings(JsonElement e, string param) =>
        e.ValueKind == JsonValueKind.Array && e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String)
            ? e.EnumerateArray().Select(x => x.GetString()!).ToList()
            : throw new InvalidRequestException($"{param} must be a list of strings.", param);
}
