using System.Text.Json.Serialization;

namespace VllmSharp.Engine.Tests.TestSupport;

/// <summary>One text's reference ids and its decodings (with and without special tokens).</summary>
public sealed class NodeResult
{
    [JsonPropertyName("ids")]
    public int[] Ids { get; init; } = [];

    [JsonPropertyName("decoded")]
    public string Decoded { get; init; } = string.Empty;

    [JsonPropertyName("decodedWithSpecial")]
    public string DecodedWithSpecial { get; init; } = string.Empty;
}
