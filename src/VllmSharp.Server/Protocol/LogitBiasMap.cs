using System.Globalization;
using System.Text.Json;
using VllmSharp.Core.Errors;

namespace VllmSharp.Server.Protocol;

/// <summary>Reads OpenAI's <c>logit_bias</c>: a JSON object from token id (as a string) to a bias in [-100, 100].</summary>
public static class LogitBiasMap
{
    /// <summary>The map, or null when the field is absent, null or empty; malformed input is a 400 naming logit_bias.</summary>
    public static Dictionary<int, double>? Parse(JsonElement? field)
    {
        if (field is not { } json || json.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        if (json.ValueKind != JsonValueKind.Object)
            throw new InvalidRequestException("logit_bias must be an object mapping token ids to bias values.", "logit_bias");
        var map = new Dictionary<int, double>();
        foreach (JsonProperty entry in json.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
                throw new InvalidRequestException($"logit_bias keys must be token ids, got \"{entry.Name}\".", "logit_bias");
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetDouble(out double bias))
                throw new InvalidRequestException($"logit_bias values must be numbers, got {entry.Value.ValueKind} for token {id}.", "logit_bias");
            map[id] = bias;
        }
        return map.Count == 0 ? null : map;
    }
}
