using System.Text.Json;
using System.Text.Json.Nodes;
using VllmSharp.Core.Errors;

namespace VllmSharp.Server.Endpoints.Chat.ToolCalls;

/// <summary>
/// Turns <c>tool_choice</c> "required" or a named function into the JSON schema that constrains generation, as vLLM
/// does: "required" is an array (minItems 1) of {name, parameters} objects, one anyOf branch per tool, so each name
/// is paired with its own parameters schema; a named function is constrained to that function's parameters.
/// Each tool's <c>$defs</c> move to the root of the "required" schema, where its <c>#/$defs/…</c> references resolve
/// (as vLLM does; one name with two different definitions is a 400).
/// </summary>
public static class ToolChoiceSchema
{
    /// <summary>Schema for "required"; <paramref name="parallel"/> false caps the array at one call.</summary>
    public static string ForRequired(JsonElement tools, bool parallel = true)
    {
        var branches = new JsonArray();
        var defs = new JsonObject();
        foreach (var tool in tools.EnumerateArray())
        {
            var fn = tool.GetProperty("function");
            JsonNode parameters = Parameters(fn);
            if (parameters is JsonObject p && p["$defs"] is JsonObject own)
            {
                p.Remove("$defs");
                foreach ((string name, JsonNode? definition) in own.ToList())
                {
                    if (defs[name] is { } seen && !JsonNode.DeepEquals(seen, definition))
                        throw new InvalidRequestException($"Tool definition '{name}' has multiple schemas, which is not supported.", "tools");
                    own.Remove(name);
                    defs[name] = definition;
                }
            }
            branches.Add(new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["name"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray(fn.GetProperty("name").GetString()) },
                    ["parameters"] = parameters,
                },
                ["required"] = new JsonArray("name", "parameters"),
            });
        }
        var schema = new JsonObject
        {
            ["type"] = "array",
            ["minItems"] = 1,
            ["items"] = new JsonObject { ["type"] = "object", ["anyOf"] = branches },
        };
        if (!parallel) schema["maxItems"] = 1;
        if (defs.Count > 0) schema["$defs"] = defs;
        return schema.ToJsonString();
    }

    /// <summary>Schema for a named function, or null when no tool has that name (the caller answers 400).</summary>
    public static string? ForNamed(JsonElement tools, string name)
    {
        foreach (var tool in tools.EnumerateArray())
        {
            var fn = tool.GetProperty("function");
            if (fn.GetProperty("name").GetString() == name) return Parameters(fn).ToJsonString();
        }
        return null;
    }

    /// <summary>Checks the shape of <c>tools</c>; returns an error message naming <c>tools</c>, or null when valid.</summary>
    public static string? Validate(JsonElement tools)
    {
        if (tools.ValueKind != JsonValueKind.Array) return "'tools' must be an array.";
        int i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function")
                return $"'tools[{i}].type' must be \"function\".";
            if (!tool.TryGetProperty("function", out var fn) || fn.ValueKind != JsonValueKind.Object)
                return $"'tools[{i}].function' must be an object.";
            if (!fn.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(name.GetString()))
                return $"'tools[{i}].function.name' must be a non-empty string.";
            if (fn.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Object)
                return $"'tools[{i}].function.parameters' must be an object.";
            i++;
        }
        return null;
    }

    // A function without parameters, or with an empty schema, takes an empty object, as vLLM and OpenAI treat it
    // (an empty schema would otherwise allow any JSON value as the arguments).
    private static JsonNode Parameters(JsonElement fn) =>
        fn.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object && p.EnumerateObject().Any()
            ? JsonNode.Parse(p.GetRawText())!
            : new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
}
