using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using VllmSharp.Core.Errors;
using VllmSharp.Server.Streaming;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// SSE framing of failures: one that happens before the first chunk is a plain JSON error with its status; one
/// after streaming started is a single <c>data: {"error": …}</c> event followed by <c>data: [DONE]</c>.
/// </summary>
public sealed class ServerSentEventsTests
{
    private sealed record Chunk(string Text);

    private static async IAsyncEnumerable<Chunk> Chunks(int before, Exception? failure, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (int i = 0; i < before; i++)
        {
            await Task.Yield();
            yield return new Chunk($"part{i}");
        }
        if (failure is not null) throw failure;
    }

    private static async Task<(int Status, string ContentType, string Body)> RunAsync(IAsyncEnumerable<Chunk> chunks)
    {
        var context = new DefaultHttpContext();
        var body = new MemoryStream();
        context.Response.Body = body;
        await ServerSentEvents.WriteAsync(context, chunks);
        return (context.Response.StatusCode, context.Response.ContentType ?? "", Encoding.UTF8.GetString(body.ToArray()));
    }

    [Fact]
    public async Task WriteAsync_AllChunks_DataFramesThenDone()
    {
        var (status, type, body) = await RunAsync(Chunks(2, null, TestContext.Current.CancellationToken));
        Assert.Equal(200, status);
        Assert.StartsWith("text/event-stream", type);
        Assert.Equal("data: {\"text\":\"part0\"}\n\ndata: {\"text\":\"part1\"}\n\ndata: [DONE]\n\n", body);
    }

    [Fact]
    public async Task WriteAsync_FailureAfterTheFirstChunk_OneErrorEventThenDone()
    {
        var (status, _, body) = await RunAsync(Chunks(1, new InvalidOperationException("engine died"), TestContext.Current.CancellationToken));
        Assert.Equal(200, status); // the headers were already sent
        string[] events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, events.Length);
        Assert.Equal("data: {\"text\":\"part0\"}", events[0]);
        JsonNode error = JsonNode.Parse(events[1]["data: ".Length..])!["error"]!;
        Assert.Equal(500, (int)error["code"]!);
        Assert.Contains("engine died", (string?)error["message"]);
        Assert.Equal("data: [DONE]", events[2]);
    }

    [Fact]
    public async Task WriteAsync_FailureBeforeTheFirstChunk_PlainJsonErrorWithItsStatus()
    {
        var (status, type, body) = await RunAsync(Chunks(0, new InvalidRequestException("bad temperature", "temperature"), TestContext.Current.CancellationToken));
        Assert.Equal(400, status);
        Assert.StartsWith("application/json", type);
        Assert.Equal("temperature", (string?)JsonNode.Parse(body)!["error"]!["param"]);
    }
}
