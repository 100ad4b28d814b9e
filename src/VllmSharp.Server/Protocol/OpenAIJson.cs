using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VllmSharp.Server.Protocol;

/// <summary>The JSON conventions of the OpenAI API: snake_case names, nulls written as OpenAI writes them.</summary>
public static class OpenAIJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.Strict,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        // Text as UTF-8, not \u escapes, as Python servers send it.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
