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
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        ReadOnlyMemory<byte> body = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        CheckText(body.Span);
        RequestFields.Check(body.Span, typeof(T));
        try
        {
            T? value = JsonSerializer.Deserialize<T>(body.Span, OpenAIJson.Options);
            return value ?? throw new InvalidRequestException("The request body is empty.");
        }
        catch (JsonException e)
        {
            string? path = e.Path?.TrimStart('$', '.');
            throw new InvalidRequestException($"Invalid JSON body: {e.Message}", string.IsNullOrEmpty(path) ? null : path);
        }
    }

    /// <summary>
    /// Rejects bodies whose strings could not become .NET strings later: invalid UTF-8 bytes, and escapes of
    /// unpaired UTF-16 surrogates (<c>"\ud800"</c>). System.Text.Json only notices those when a string is read,
    /// which would otherwise surface deep in a handler as a 500.
    /// </summary>
    private static void CheckText(ReadOnlySpan<byte> body)
    {
        if (!System.Text.Unicode.Utf8.IsValid(body)) throw new InvalidRequestException("The request body is not valid UTF-8.");
        if (body.IndexOf("\\u"u8) < 0 && body.IndexOf("\\U"u8) < 0) return; // no escapes: nothing more to check
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = OpenAIJson.Options.MaxDepth == 0 ? 64 : OpenAIJson.Options.MaxDepth });
        try
        {
            while (reader.Read())
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped) reader.GetString();
        }
        catch (JsonException)
        {
            // Malformed JSON: the deserializer reports it with its position.
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidRequestException($"Invalid string in the request body: {e.Message}");
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
