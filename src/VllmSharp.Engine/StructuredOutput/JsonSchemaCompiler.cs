using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// Compiles a JSON Schema to the regular language of the JSON texts the engine lets a model write for it.
/// Output is compact except for single spaces after ':' and ','; properties appear in schema order, optional ones
/// may be left out, and properties not listed are never generated (additionalProperties only matters for an
/// object without listed properties). Recursion through $ref is unrolled <see cref="MaxRefDepth"/> deep, below
/// which a recursive branch is unavailable (so optional/anyOf/array branches end the recursion). Any keyword
/// outside the supported set is rejected by name.
/// </summary>
internal sealed class JsonSchemaCompiler
{
    public const int MaxRefDepth = 6;
    /// <summary>Nesting allowed inside "any JSON value" (json_object mode, schemas without a type).</summary>
    public const int AnyValueDepth = 6;

    private static readonly HashSet<string> s_supported =
    [
        "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "enum", "const",
        "pattern", "format", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "anyOf", "oneOf", "$ref", "$defs", "definitions",
        // Annotations: no effect on what is valid.
        "title", "description", "$schema", "$id", "$comment", "default", "examples", "deprecated", "readOnly", "writeOnly",
    ];

    private static readonly JsonSerializerOptions s_literal = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly JsonElement _root;
    private readonly Dictionary<string, int> _activeRefs = [];
    private readonly RegexNode?[] _anyValue = new RegexNode?[AnyValueDepth + 1];

    private JsonSchemaCompiler(JsonElement root) => _root = root;

    public static RegexNode Compile(string schemaJson)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(schemaJson);
        }
        catch (JsonException e)
        {
            throw new StructuredOutputException($"The JSON schema is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            RegexNode node = new JsonSchemaCompiler(doc.RootElement).Schema(doc.RootElement);
            if (node.Kind == RegexKind.Never) throw new StructuredOutputException("The JSON schema admits no value the engine can generate.");
            return node;
        }
    }

    /// <summary>Any JSON object (json_object mode), nested up to <see cref="AnyValueDepth"/> levels.</summary>
    public static RegexNode AnyJsonObject()
    {
        var compiler = new JsonSchemaCompiler(default);
        return compiler.MapObject(compiler.AnyValue(AnyValueDepth - 1), 0, RegexNode.Unbounded);
    }

    private RegexNode Schema(JsonElement s)
    {
        if (s.ValueKind == JsonValueKind.True) return AnyValue(AnyValueDepth);
        if (s.ValueKind == JsonValueKind.False) return RegexNode.Never;
        if (s.ValueKind != JsonValueKind.Object) throw new StructuredOutputException($"A JSON schema must be an object or a boolean, got {s.ValueKind}.");
        foreach (JsonProperty p in s.EnumerateObject())
            if (!s_supported.Contains(p.Name)) throw new StructuredOutputException($"Unsupported JSON schema keyword '{p.Name}'.");

        if (s.TryGetProperty("$ref", out JsonElement reference)) return Ref(reference.GetString() ?? "");
        if (s.TryGetProperty("const", out JsonElement constant)) return RegexNode.Text(Literal(constant));
        if (s.TryGetProperty("enum", out JsonElement values))
        {
            if (values.ValueKind != JsonValueKind.Array) throw new StructuredOutputException("'enum' must be an array.");
            var options = new List<RegexNode>();
            foreach (JsonElement v in values.EnumerateArray()) options.Add(RegexNode.Text(Literal(v)));
            return RegexNode.Alt([.. options]);
        }
        if (s.TryGetProperty("anyOf", out JsonElement anyOf) || s.TryGetProperty("oneOf", out anyOf))
        {
            // oneOf is treated as anyOf: its branches are expected to be disjoint (e.g. different types).
            var options = new List<RegexNode>();
            foreach (JsonElement branch in anyOf.EnumerateArray()) options.Add(Schema(branch));
            return RegexNode.Alt([.. options]);
        }

        if (!s.TryGetProperty("type", out JsonElement type))
        {
            if (s.TryGetProperty("properties", out _) || s.TryGetProperty("additionalProperties", out _)) return Object(s);
            if (s.TryGetProperty("items", out _)) return Array(s);
            return AnyValue(AnyValueDepth);
        }
        if (type.ValueKind == JsonValueKind.String) return Typed(s, type.GetString()!);
        if (type.ValueKind == JsonValueKind.Array)
        {
            var options = new List<RegexNode>();
            foreach (JsonElement t in type.EnumerateArray()) options.Add(Typed(s, t.GetString() ?? ""));
            return RegexNode.Alt([.. options]);
        }
        throw new StructuredOutputException("'type' must be a string or an array of strings.");
    }

    private RegexNode Typed(JsonElement s, string type) => type switch
    {
        "object" => Object(s),
        "array" => Array(s),
        "string" => String(s),
        "integer" => Integer(s),
        "number" => Number(s),
        "boolean" => RegexNode.Alt(RegexNode.Text("true"), RegexNode.Text("false")),
        "null" => RegexNode.Text("null"),
        _ => throw new StructuredOutputException($"Unsupported JSON schema type '{type}'."),
    };

    private RegexNode Ref(string reference)
    {
        if (!reference.StartsWith('#')) throw new StructuredOutputException($"Only local $ref values ('#…') are supported, got '{reference}'.");
        JsonElement target = _root;
        foreach (string raw in reference[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string part = Uri.UnescapeDataString(raw).Replace("~1", "/").Replace("~0", "~");
            if (target.ValueKind == JsonValueKind.Object && target.TryGetProperty(part, out JsonElement child)) target = child;
            else if (target.ValueKind == JsonValueKind.Array && int.TryParse(part, out int index) && index < target.GetArrayLength()) target = target[index];
            else throw new StructuredOutputException($"$ref '{reference}' does not resolve.");
        }
        _activeRefs.TryGetValue(reference, out int active);
        if (active >= MaxRefDepth) return RegexNode.Never; // recursion cut: this branch is unavailable
        _activeRefs[reference] = active + 1;
        try
        {
            return Schema(target);
        }
        finally
        {
            _activeRefs[reference] = active;
        }
    }

    private RegexNode Object(JsonElement s)
    {
        var required = new HashSet<string>();
        if (s.TryGetProperty("required", out JsonElement req))
            foreach (JsonElement r in req.EnumerateArray()) required.Add(r.GetString() ?? "");

        var names = new List<string>();
        var values = new List<RegexNode>();
        if (s.TryGetProperty("properties", out JsonElement props))
        {
            foreach (JsonProperty p in props.EnumerateObject())
            {
                names.Add(p.Name);
                values.Add(Schema(p.Value));
            }
        }
        JsonElement additional = s.TryGetProperty("additionalProperties", out JsonElement a) ? a : default;
        // Required names without a schema of their own take additionalProperties' (or any value).
        foreach (string name in required)
        {
            if (names.Contains(name)) continue;
            if (additional.ValueKind == JsonValueKind.False) throw new StructuredOutputException($"Required property '{name}' is not allowed by additionalProperties: false.");
            names.Add(name);
            values.Add(additional.ValueKind == JsonValueKind.Undefined ? AnyValue(AnyValueDepth - 1) : Schema(additional));
        }

        if (names.Count == 0)
        {
            if (additional.ValueKind == JsonValueKind.False) return RegexNode.Text("{}");
            RegexNode value = additional.ValueKind is JsonValueKind.Undefined or JsonValueKind.True ? AnyValue(AnyValueDepth - 1) : Schema(additional);
            return MapObject(value, 0, RegexNode.Unbounded);
        }

        // F(j, emitted): properties j… given whether one was written already (which decides the leading comma).
        // Built from the end and shared by reference, so the automaton stays linear in the number of properties.
        int n = names.Count;
        RegexNode[] withComma = new RegexNode[n + 1], first = new RegexNode[n + 1];
        withComma[n] = first[n] = RegexNode.Empty;
        for (int j = n - 1; j >= 0; j--)
        {
            RegexNode member = RegexNode.Concat(RegexNode.Text(Literal(names[j]) + ": "), values[j]);
            RegexNode afterComma = RegexNode.Concat(JsonRegexes.Comma, member, withComma[j + 1]);
            RegexNode asFirst = RegexNode.Concat(member, withComma[j + 1]);
            bool isRequired = required.Contains(names[j]);
            withComma[j] = isRequired ? afterComma : RegexNode.Alt(afterComma, withComma[j + 1]);
            first[j] = isRequired ? asFirst : RegexNode.Alt(asFirst, first[j + 1]);
        }
        return RegexNode.Concat(RegexNode.Text("{"), first[0], RegexNode.Text("}"));
    }

    // {"key": value, …} with any keys, between min and max members.
    private RegexNode MapObject(RegexNode value, int min, int max)
    {
        RegexNode member = RegexNode.Concat(JsonRegexes.String(0, RegexNode.Unbounded), JsonRegexes.Colon, value);
        return Sequence("{", member, min, max, "}");
    }

    private static RegexNode Sequence(string open, RegexNode item, int min, int max, string close)
    {
        if (max == 0) return RegexNode.Text(open + close);
        RegexNode more = RegexNode.Repeat(RegexNode.Concat(JsonRegexes.Comma, item), Math.Max(min - 1, 0), max == RegexNode.Unbounded ? max : max - 1);
        RegexNode body = RegexNode.Concat(item, more);
        return RegexNode.Concat(RegexNode.Text(open), min == 0 ? RegexNode.Optional(body) : body, RegexNode.Text(close));
    }

    private RegexNode Array(JsonElement s)
    {
        int min = IntKeyword(s, "minItems") ?? 0, max = IntKeyword(s, "maxItems") ?? RegexNode.Unbounded;
        if (max != RegexNode.Unbounded && max < min) return RegexNode.Never;
        RegexNode item = s.TryGetProperty("items", out JsonElement items) ? Schema(items) : AnyValue(AnyValueDepth - 1);
        if (item.Kind == RegexKind.Never) return min == 0 ? RegexNode.Text("[]") : RegexNode.Never;
        return Sequence("[", item, min, max, "]");
    }

    private static RegexNode String(JsonElement s)
    {
        int min = IntKeyword(s, "minLength") ?? 0, max = IntKeyword(s, "maxLength") ?? RegexNode.Unbounded;
        if (s.TryGetProperty("pattern", out JsonElement pattern))
        {
            if (min != 0 || max != RegexNode.Unbounded)
                throw new StructuredOutputException("'pattern' together with 'minLength'/'maxLength' is not supported.");
            return RegexNode.Concat(JsonRegexes.Quote, JsonEscaper.Escape(RegexParser.ParseSearch(pattern.GetString() ?? "")), JsonRegexes.Quote);
        }
        if (s.TryGetProperty("format", out JsonElement format) && JsonRegexes.Format(format.GetString() ?? "") is { } formatted)
            return RegexNode.Concat(JsonRegexes.Quote, formatted, JsonRegexes.Quote);
        if (max != RegexNode.Unbounded && max < min) return RegexNode.Never;
        return JsonRegexes.String(min, max);
    }

    private static RegexNode Integer(JsonElement s)
    {
        var (lo, loEx, hi, hiEx) = Bounds(s);
        return IntegerRangeRegex.Integers(lo is null ? null : JsonRegexes.CeilBound(lo.Value, loEx),
            hi is null ? null : JsonRegexes.FloorBound(hi.Value, hiEx));
    }

    private static RegexNode Number(JsonElement s)
    {
        var (lo, loEx, hi, hiEx) = Bounds(s);
        return lo is null && hi is null ? JsonRegexes.Number() : JsonRegexes.BoundedNumber(lo, loEx, hi, hiEx);
    }

    // minimum/maximum with 2020-12 numeric exclusive bounds, or draft-4 boolean ones.
    private static (double? Lo, bool LoEx, double? Hi, bool HiEx) Bounds(JsonElement s)
    {
        double? lo = s.TryGetProperty("minimum", out JsonElement v) ? v.GetDouble() : null;
        double? hi = s.TryGetProperty("maximum", out v) ? v.GetDouble() : null;
        bool loEx = false, hiEx = false;
        if (s.TryGetProperty("exclusiveMinimum", out v))
        {
            if (v.ValueKind == JsonValueKind.Number) { double x = v.GetDouble(); if (lo is null || x >= lo) { lo = x; loEx = true; } }
            else loEx = v.ValueKind == JsonValueKind.True;
        }
        if (s.TryGetProperty("exclusiveMaximum", out v))
        {
            if (v.ValueKind == JsonValueKind.Number) { double x = v.GetDouble(); if (hi is null || x <= hi) { hi = x; hiEx = true; } }
            else hiEx = v.ValueKind == JsonValueKind.True;
        }
        return (lo, loEx, hi, hiEx);
    }

    private static int? IntKeyword(JsonElement s, string name)
    {
        if (!s.TryGetProperty(name, out JsonElement v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n) || n < 0)
            throw new StructuredOutputException($"'{name}' must be a non-negative integer.");
        if (n > 10_000) throw new StructuredOutputException($"'{name}' above 10000 is not supported.");
        return n;
    }

    /// <summary>Any JSON value nested at most <paramref name="depth"/> more levels; shared per depth.</summary>
    private RegexNode AnyValue(int depth)
    {
        if (_anyValue[depth] is { } cached) return cached;
        var options = new List<RegexNode>
        {
            JsonRegexes.String(0, RegexNode.Unbounded), JsonRegexes.Number(),
            RegexNode.Text("true"), RegexNode.Text("false"), RegexNode.Text("null"),
        };
        if (depth > 0)
        {
            RegexNode inner = AnyValue(depth - 1);
            options.Add(MapObject(inner, 0, RegexNode.Unbounded));
            options.Add(Sequence("[", inner, 0, RegexNode.Unbounded, "]"));
        }
        return _anyValue[depth] = RegexNode.Alt([.. options]);
    }

    /// <summary>A JSON value as text, with the compiler's separators.</summary>
    private static string Literal(JsonElement v)
    {
        var sb = new StringBuilder();
        Write(v, sb);
        return sb.ToString();
    }

    private static void Write(JsonElement v, StringBuilder sb)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Object:
                sb.Append('{');
                bool first = true;
                foreach (JsonProperty p in v.EnumerateObject())
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    sb.Append(JsonSerializer.Serialize(p.Name, s_literal)).Append(": ");
                    Write(p.Value, sb);
                }
                sb.Append('}');
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                int i = 0;
                foreach (JsonElement e in v.EnumerateArray())
                {
                    if (i++ > 0) sb.Append(", ");
                    Write(e, sb);
                }
                sb.Append(']');
                break;
            case JsonValueKind.String:
                sb.Append(JsonSerializer.Serialize(v.GetString(), s_literal));
                break;
            default:
                sb.Append(v.GetRawText());
                break;
        }
    }

    private static string Literal(string s) => JsonSerializer.Serialize(s, s_literal);
}
