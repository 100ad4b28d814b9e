namespace VllmSharp.StructuredBench;

/// <summary>The JSON schemas the benchmark compiles and decodes with.</summary>
internal static class Schemas
{
    /// <summary>
    /// A typical request schema (issue #8): 7 properties covering a bounded string, an integer with bounds, an
    /// enum, an array of strings, a nested object, a boolean and an optional field. <paramref name="variant"/>
    /// renames one property, giving a schema of the same size that misses the compile cache.
    /// </summary>
    public static string Typical(int variant = 0) => """
        {"type": "object",
         "properties": {
           "name": {"type": "string", "maxLength": 40},
           "age": {"type": "integer", "minimum": 0, "maximum": 150},
           "role": {"enum": ["admin", "user", "guest", "service"]},
           "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
           "address": {"type": "object",
                       "properties": {"street": {"type": "string"}, "city": {"type": "string"},
                                      "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                       "required": ["street", "city"]},
           "active": {"type": "boolean"},
           "nickname@": {"type": "string"}
         },
         "required": ["name", "age", "role", "tags", "address", "active"]}
        """.Replace("@", variant == 0 ? "" : variant.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>
    /// The decode schema: an object holding a non-empty, unbounded array of strings. A string ends only on a token
    /// that closes the quote (a small share of the vocabulary), so with random weights most requests run to
    /// max_tokens like the unconstrained ones, and the automaton keeps revisiting a few states (steady state:
    /// cached masks). minItems 4 keeps "[]" or one short string from ending a request early.
    /// </summary>
    public const string LongOutput = """
        {"type": "object", "properties": {"notes": {"type": "array", "items": {"type": "string"}, "minItems": 4}}, "required": ["notes"]}
        """;
}
