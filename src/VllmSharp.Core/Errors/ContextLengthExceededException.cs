namespace VllmSharp.Core.Errors;

/// <summary>A prompt (plus the tokens asked for) longer than the model's maximum length (HTTP 400).</summary>
public sealed class ContextLengthExceededException(string message) : InvalidRequestException(message, "prompt");
