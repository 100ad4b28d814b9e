namespace VllmSharp.Core.Errors;

/// <summary>
/// The engine core stopped on an unexpected error (vLLM's EngineDeadError): no request can be served any more; the
/// server answers 500 and /health fails so that an orchestrator restarts it.
/// </summary>
public sealed class EngineDeadException(Exception cause)
    : Exception($"The engine core failed and cannot serve requests any more (restart the server): {cause.GetType().Name}: {cause.Message}", cause);
