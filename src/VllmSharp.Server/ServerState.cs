using VllmSharp.Engine;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server;

/// <summary>What every endpoint shares: the engine, the served names, the start time, the sampling defaults.</summary>
public sealed class ServerState(AsyncLLM engine, IReadOnlyList<string> servedModelNames, GenerationConfigDefaults? defaults = null)
{
    public AsyncLLM Engine { get; } = engine;
    public IReadOnlyList<string> ServedModelNames { get; } = servedModelNames;
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;
    /// <summary>The model's recommended sampling defaults (--generation-config), applied to fields a request leaves unset.</summary>
    public GenerationConfigDefaults Defaults { get; } = defaults ?? new GenerationConfigDefaults();
    public string PrimaryModelName => ServedModelNames[0];

    /// <summary>Checks the request's <c>model</c> (absent means the served model, as vLLM allows) and returns the name to report.</summary>
    public string ResolveModel(string? requested)
    {
        if (requested is null) return PrimaryModelName;
        if (!ServedModelNames.Contains(requested)) throw new ModelNotFoundException(requested);
        return requested;
    }
}
