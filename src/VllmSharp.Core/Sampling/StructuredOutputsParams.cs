using VllmSharp.Core.Errors;

namespace VllmSharp.Core.Sampling;

/// <summary>
/// A constraint on the generated text — vLLM's <c>StructuredOutputsParams</c>: exactly one of <see cref="Json"/>,
/// <see cref="Regex"/>, <see cref="Choice"/>, <see cref="Grammar"/> or <see cref="JsonObject"/> is set.
/// </summary>
/// <remarks>
/// The OpenAI-side spellings map one to one: <c>response_format {type: json_schema}</c> and <c>guided_json</c> →
/// <see cref="Json"/>, <c>{type: json_object}</c> → <see cref="JsonObject"/>, <c>guided_regex</c> → <see cref="Regex"/>,
/// <c>guided_choice</c> → <see cref="Choice"/>, <c>guided_grammar</c> → <see cref="Grammar"/>. Whether the contents
/// compile (schema keywords, regex syntax) is checked by the engine when the request arrives.
/// </remarks>
public sealed record StructuredOutputsParams
{
    /// <summary>A JSON Schema, as JSON text.</summary>
    public string? Json { get; init; }
    /// <summary>A regular expression the whole output must match.</summary>
    public string? Regex { get; init; }
    /// <summary>The output is exactly one of these strings.</summary>
    public IReadOnlyList<string>? Choice { get; init; }
    /// <summary>An EBNF/GBNF grammar whose <c>root</c> rule the output must match.</summary>
    public string? Grammar { get; init; }
    /// <summary>The output is any JSON object.</summary>
    public bool JsonObject { get; init; }

    public static StructuredOutputsParams ForJson(string schema) => new() { Json = schema };
    public static StructuredOutputsParams ForRegex(string regex) => new() { Regex = regex };
    public static StructuredOutputsParams ForChoice(params IReadOnlyList<string> choice) => new() { Choice = choice };
    public static StructuredOutputsParams ForGrammar(string grammar) => new() { Grammar = grammar };
    public static StructuredOutputsParams ForJsonObject() => new() { JsonObject = true };

    /// <summary>Exactly one constraint, none of them empty; throws <see cref="InvalidRequestException"/> otherwise.</summary>
    public void Validate()
    {
        int set = (Json is null ? 0 : 1) + (Regex is null ? 0 : 1) + (Choice is null ? 0 : 1) + (Grammar is null ? 0 : 1) + (JsonObject ? 1 : 0);
        if (set != 1)
            throw new InvalidRequestException(
                $"structured_outputs needs exactly one of json, regex, choice, grammar or json_object; {set} were given.", "structured_outputs");
        if (Json is { Length: 0 }) throw new InvalidRequestException("structured_outputs.json is empty.", "structured_outputs.json");
        if (Grammar is { Length: 0 }) throw new InvalidRequestException("structured_outputs.grammar is empty.", "structured_outputs.grammar");
        if (Choice is not null)
        {
            if (Choice.Count == 0) throw new InvalidRequestException("structured_outputs.choice is empty.", "structured_outputs.choice");
            foreach (string c in Choice)
                if (c is null) throw new InvalidRequestException("structured_outputs.choice holds a null.", "structured_outputs.choice");
        }
    }
}
