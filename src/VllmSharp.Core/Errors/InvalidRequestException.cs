namespace VllmSharp.Core.Errors;

/// <summary>A request that cannot be served as given (HTTP 400). <see cref="Parameter"/> names the offending field.</summary>
public class InvalidRequestException : Exception
{
    public InvalidRequestException(string message, string? parameter = null) : base(message) => Parameter = parameter;

    public string? Parameter { get; }
}
