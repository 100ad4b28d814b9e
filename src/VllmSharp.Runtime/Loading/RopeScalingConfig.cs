namespace VllmSharp.Runtime.Loading;

/// <summary>
/// config.json "rope_scaling": <c>llama3</c> (Llama 3.1+ frequency-dependent scaling: <see cref="Factor"/>,
/// <see cref="LowFreqFactor"/>, <see cref="HighFreqFactor"/>, <see cref="OriginalMaxPositionEmbeddings"/>) or
/// <c>linear</c> (positions divided by <see cref="Factor"/>). Other types are rejected when the config is loaded.
/// </summary>
public sealed record RopeScalingConfig(
    string Type,
    double Factor,
    double? LowFreqFactor = null,
    double? HighFreqFactor = null,
    int? OriginalMaxPositionEmbeddings = null)
{
    public const string Llama3 = "llama3";
    public const string Linear = "linear";
}
