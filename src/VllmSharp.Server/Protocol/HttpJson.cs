using System.Text.Json;
using Microsoft.AspNetCore.Http;
using VllmSharp.Core.Errors;

namespace VllmSharp.Server.Protocol;

/// <summary>Reads request bodies and writes responses with the OpenAI JSON conventions; errors go through <see cref="ErrorMapper"/>.</summary>
public static class HttpJson
{
    /// <summary>Largest request body accepted (OpenAI-style requests are small; this stops memory abuse).</summary>
    public const long MaxBodyBytes = 32L * 1024 * 1024;

    public static async Task<T> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken) where T : class
    {
        if (request.ContentLength > MaxBodyBytes)
            throw new InvalidRequestException($"The request body is larger than {MaxBodyBytes} bytes.");
        try
        {
            T? body = await JsonSerializer.DeserializeAsync<T>(request.Body, OpenAIJson.Options, cancellationToken).ConfigureAwait(false);
            return body ?? throw new InvalidRequestException("The request body is empty.");
        }
        catch (JsonException e)
        {
            string? path = e.Path?.TrimStart('$', '.');
            throw new InvalidRequestException($"Invalid JSON body: {e.Message}", string.IsNullOrEmpty(path) ? null : path);
        }
    }

    public static Task WriteAsync(HttpResponse response, object body, int status = 200)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(response.Body, body, body.GetType(), OpenAIJson.Options);
    }

    public static Task WriteErrorAsync(HttpResponse response, Exception e)
    {
        (int status, ErrorResponse body) = ErrorMapper.Map(e);
        return WriteAsync(response, body, status);
    }
}
