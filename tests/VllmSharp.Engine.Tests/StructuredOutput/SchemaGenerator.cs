using System.Text.Json.Nodes;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>
/// Seeded random JSON Schemas of the kinds users send: nested objects with optional fields, arrays with bounds,
/// enums and consts, bounded integers and numbers, patterns and formats, anyOf/oneOf, and $defs with $ref
/// (sometimes recursive). Every string, array and number is bounded so uniform random walks terminate.
/// </summary>
internal sealed class SchemaGenerator(int seed)
{
    private static readonly string[] s_patterns = ["^[a-z]{1,6}$", "^\\d{3}-\\d{4}$", "^(foo|bar|baz)$", "^[A-Z][a-z]{0,4}( [A-Z][a-z]{0,4})?$", "^\\w{2,5}\\.json$", "^[^\"\\\\]{0,3}$"];
    private static readonly string[] s_formats = ["date", "time", "date-time", "uuid", "email"];
    private static readonly string[] s_words = ["id", "name", "age", "tags", "value", "kind", "score", "items", "note", "ok", "é", "with space", "quo\"te"];

    private readonly Random _rng = new(seed);

    public JsonObject Next()
    {
        var defs = new JsonObject();
        JsonObject root;
        if (_rng.Next(4) == 0)
        {
            // A recursive tree through $ref, or a shared definition used twice.
            if (_rng.Next(2) == 0)
            {
                defs["node"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["value"] = Scalar(),
                        ["children"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["$ref"] = "#/$defs/node" }, ["maxItems"] = 2 },
                    },
                    ["required"] = new JsonArray("value"),
                    ["additionalProperties"] = false,
                };
                root = new JsonObject { ["$ref"] = "#/$defs/node" };
            }
            else
            {
                defs["thing"] = Schema(1);
                root = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject { ["a"] = new JsonObject { ["$ref"] = "#/$defs/thing" }, ["b"] = new JsonObject { ["$ref"] = "#/$defs/thing" } },
                    ["required"] = new JsonArray("a"),
                };
            }
            root["$defs"] = defs;
            return root;
        }
        return Object(0);
    }

    private JsonObject Schema(int depth)
    {
        int pick = _rng.Next(depth >= 2 ? 6 : 9);
        return pick switch
        {
            < 5 => Scalar(),
            5 => Enum(),
            6 => Object(depth + 1),
            7 => Array(depth + 1),
            _ => AnyOf(depth + 1),
        };
    }

    private JsonObject Scalar() => _rng.Next(9) switch
    {
        0 => String(),
        1 => new JsonObject { ["type"] = "string", ["pattern"] = s_patterns[_rng.Next(s_patterns.Length)] },
        2 => new JsonObject { ["type"] = "string", ["format"] = s_formats[_rng.Next(s_formats.Length)] },
        3 => Integer(),
        4 => Number(),
        5 => new JsonObject { ["type"] = "boolean" },
        6 => new JsonObject { ["type"] = "null" },
        7 => new JsonObject { ["const"] = _rng.Next(2) == 0 ? JsonValue.Create("fixed") : JsonValue.Create(42) },
        _ => new JsonObject { ["type"] = new JsonArray("integer", "null"), ["minimum"] = 0, ["maximum"] = 9 },
    };

    private JsonObject String()
    {
        int min = _rng.Next(3), max = min + _rng.Next(8);
        return new JsonObject { ["type"] = "string", ["minLength"] = min, ["maxLength"] = max };
    }

    private JsonObject Integer()
    {
        var s = new JsonObject { ["type"] = "integer" };
        int lo = _rng.Next(-1000, 1000);
        if (_rng.Next(3) > 0) s[_rng.Next(4) == 0 ? "exclusiveMinimum" : "minimum"] = lo;
        if (_rng.Next(3) > 0) s[_rng.Next(4) == 0 ? "exclusiveMaximum" : "maximum"] = lo + 2 + _rng.Next(5000);
        return s;
    }

    private JsonObject Number()
    {
        var s = new JsonObject { ["type"] = "number" };
        double lo = Math.Round(_rng.NextDouble() * 200 - 100, 1);
        if (_rng.Next(3) > 0) s[_rng.Next(4) == 0 ? "exclusiveMinimum" : "minimum"] = lo;
        if (_rng.Next(3) > 0) s[_rng.Next(4) == 0 ? "exclusiveMaximum" : "maximum"] = lo + 1 + Math.Round(_rng.NextDouble() * 50, 2);
        return s;
    }

    private JsonObject Enum()
    {
        var values = new JsonArray();
        int n = 1 + _rng.Next(4);
        for (int i = 0; i < n; i++)
        {
            values.Add(_rng.Next(4) switch
            {
                0 => JsonValue.Create(s_words[_rng.Next(s_words.Length)] + i),
                1 => JsonValue.Create(i * 7 - 3),
                2 => new JsonObject { ["k"] = i, ["v"] = new JsonArray(true, null) },
                _ => JsonValue.Create(i % 2 == 0),
            });
        }
        return new JsonObject { ["enum"] = values };
    }

    private JsonObject Object(int depth)
    {
        var props = new JsonObject();
        var required = new JsonArray();
        int n = 1 + _rng.Next(4);
        for (int i = 0; i < n; i++)
        {
            string name = s_words[_rng.Next(s_words.Length)] + (i == 0 ? "" : i.ToString());
            if (props.ContainsKey(name)) continue;
            props[name] = Schema(depth);
            if (_rng.Next(2) == 0) required.Add(name);
        }
        var s = new JsonObject { ["type"] = "object", ["properties"] = props, ["required"] = required };
        if (_rng.Next(2) == 0) s["additionalProperties"] = false;
        return s;
    }

    private JsonObject Array(int depth)
    {
        int min = _rng.Next(3), max = min + _rng.Next(3);
        return new JsonObject { ["type"] = "array", ["items"] = Schema(depth), ["minItems"] = min, ["maxItems"] = max };
    }

    private JsonObject AnyOf(int depth)
    {
        // oneOf branches get distinct types so that exactly one matches.
        string keyword = _rng.Next(2) == 0 ? "anyOf" : "oneOf";
        return new JsonObject { [keyword] = new JsonArray(Integer(), String(), new JsonObject { ["type"] = "null" }, Object(depth)) };
    }
}
