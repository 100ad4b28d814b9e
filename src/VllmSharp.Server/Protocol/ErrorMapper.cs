using System.Text.Json;
using Microsoft.AspNetCore.Http;
using VllmSharp.Core.Errors;

namespace VllmSharp.Server.Protocol;

/// <summary>The one place where failures become OpenAI error bodies and HTTP status codes.</summary>
public static class ErrorMapper
{
    public static (int Status, ErrorResponse Body) Map(Exception e) => e switch
    {
        ModelNotFoundException m => (404, new ErrorResponse(new ErrorInfo(m.Message, "NotFoundError", "model", 404))),
        InvalidRequestException r => (400, new ErrorResponse(new ErrorInfo(r.Message, "BadRequestError", r.Parameter, 400))),
        JsonException j => (400, new ErrorResponse(new ErrorInfo($"Invalid JSON body: {j.Message}", "BadRequestError", j.Path, 400))),
        BadHttpRequestException b => (b.StatusCode, new ErrorResponse(new ErrorInfo(b.Message, "BadRequestError", null, b.StatusCode))),
        NotSupportedException n => (501, new ErrorResponse(new ErrorInfo(n.Message, "NotImplementedError", null, 501))),
        _ => (500, new ErrorResponse(new ErrorInfo($"Internal server error: {e.GetType().Name}: {e.Message}", "InternalServerError", null, 500))),
    };
}

/// <summary>A request for a model name this server does not serve (HTTP 404).</summary>
public sealed class ModelNotFoundException(string model) : Exception($"The model `{model}` does not exist.");
