namespace VllmSharp.Server.Protocol;

/// <summary>OpenAI's error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public sealed record ErrorResponse(ErrorInfo Error)
{
    public static ErrorResponse BadRequest(string message, string? param = null)
        => new(new ErrorInfo(message, "BadRequestError", param, 400));
}

public sealed record ErrorInfo(string Message, string Type, string? Param, int Code);
