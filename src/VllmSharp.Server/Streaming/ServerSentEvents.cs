using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Streaming;

/// <summary>
/// Writes a stream of chunks as OpenAI frames it: <c>data: {json}\n\n</c> per chunk, then <c>data: [DONE]\n\n</c>.
/// The first chunk is produced before any header is sent, so a request that fails validation still gets a plain
/// JSON error with its 4xx status; a failure after streaming started is sent as one <c>data: {"error": …}</c> event
/// followed by <c>[DONE]</c>. A client that disconnects ends the enumeration, which aborts the engine requests.
/// </summary>
public static class ServerSentEvents
{
    private static readonly byte[] s_done = Encoding.UTF8.GetBytes("data: [DONE]\n\n");

    public static async Task WriteAsync<T>(HttpContext context, IAsyncEnumerable<T> chunks)
    {
        CancellationToken aborted = context.RequestAborted;
        await using IAsyncEnumerator<T> enumerator = chunks.GetAsyncEnumerator(aborted);
        bool hasFirst;
        try
        {
            hasFirst = await enumerator.MoveNextAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (!aborted.IsCancellationRequested)
        {
            await HttpJson.WriteErrorAsync(context.Response, e).ConfigureAwait(false);
            return;
        }

        HttpResponse response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            for (bool more = hasFirst; more; more = await enumerator.MoveNextAsync().ConfigureAwait(false))
                await WriteEventAsync(response, enumerator.Current!, aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return; // the client went away; the enumerator's disposal aborts the requests
        }
        catch (Exception e)
        {
            await WriteEventAsync(response, ErrorMapper.Map(e).Body, aborted).ConfigureAwait(false);
        }
        await response.Body.WriteAsync(s_done, aborted).ConfigureAwait(false);
        await response.Body.FlushAsync(aborted).ConfigureAwait(false);
    }

    private static async Task WriteEventAsync(HttpResponse response, object value, CancellationToken cancellationToken)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), OpenAIJson.Options);
        var frame = new byte[json.Length + 8];
        "data: "u8.CopyTo(frame);
        json.CopyTo(frame, 6);
        frame[^2] = (byte)'\n';
        frame[^1] = (byte)'\n';
        await response.Body.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
