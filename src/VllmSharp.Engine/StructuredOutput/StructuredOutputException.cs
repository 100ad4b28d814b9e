using VllmSharp.Core.Errors;

namespace VllmSharp.Engine.StructuredOutput;

/// <summary>A constraint that does not compile (bad syntax, unsupported keyword): HTTP 400 naming the problem.</summary>
public class StructuredOutputException : InvalidRequestException
{
    public StructuredOutputException(string message) : base(message, "structured_outputs") { }
}
