using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using VllmSharp.Cli.BenchServe;
using Xunit;

namespace VllmSharp.Cli.Tests.BenchServe;

/// <summary>
/// The bench client against a raw-socket server that behaves like llama-server's HTTP library at a keep-alive limit:
/// the first connection is closed as soon as a request arrives, without an answer.
/// </summary>
public class StreamingClientTests
{
    private const string Sse = "data: {\"choices\":[{\"index\":0,\"text\":\"Hi\"}]}\n\ndata: {\"choices\":[{\"index\":0,\"text\":\" there\"}]}\n\ndata: [DONE]\n\n";

    [Fact]
    public async Task SendAsync_ConnectionClosedBeforeAnyResponse_RetriedOnceOnAFreshConnection()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        int connections = 0;
        // Bounded: without the retry no second connection comes, and the test must fail rather than hang.
        using var serverTime = CancellationTokenSource.CreateLinkedTokenSource(ct);
        serverTime.CancelAfter(TimeSpan.FromSeconds(10));
        Task server = Task.Run(async () =>
        {
            for (int i = 0; i < 2; i++)
            {
                using TcpClient client = await listener.AcceptTcpClientAsync(serverTime.Token);
                connections++;
                NetworkStream stream = client.GetStream();
                await ReadRequestAsync(stream, ct);
                if (i == 0) continue; // dropped without a response
                byte[] body = Encoding.UTF8.GetBytes(Sse);
                byte[] head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(head, ct);
                await stream.WriteAsync(body, ct);
            }
        }, ct);

        using var http = new HttpClient();
        var client = new StreamingClient(http, $"http://127.0.0.1:{port}/v1/completions", "m", chat: false, ignoreEos: true);
        RequestResult result = await client.SendAsync(new SampleRequest("hello", 1, 2), Stopwatch.GetTimestamp(), ct);
        try
        {
            await server;
        }
        catch (OperationCanceledException)
        {
        }

        Assert.True(result.Success, result.Error);
        Assert.Equal("Hi there", result.GeneratedText);
        Assert.Equal(2, connections);
    }

    [Fact]
    public async Task SendAsync_NothingListening_FailsWithTheErrorAfterOneRetry()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop(); // nothing listens there now
        using var http = new HttpClient();
        var client = new StreamingClient(http, $"http://127.0.0.1:{port}/v1/completions", "m", chat: false, ignoreEos: true);
        RequestResult result = await client.SendAsync(new SampleRequest("hello", 1, 2), Stopwatch.GetTimestamp(), TestContext.Current.CancellationToken);
        Assert.False(result.Success);
        Assert.StartsWith(nameof(HttpRequestException), result.Error);
    }

    /// <summary>Reads the request head and its Content-Length body.</summary>
    private static async Task ReadRequestAsync(NetworkStream stream, CancellationToken ct)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        int headEnd = -1, length = 0;
        while (true)
        {
            int n = await stream.ReadAsync(buffer, ct);
            if (n == 0) return;
            received.AddRange(buffer.AsSpan(0, n).ToArray());
            string text = Encoding.ASCII.GetString([.. received]);
            if (headEnd < 0 && (headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal)) >= 0)
            {
                foreach (string line in text[..headEnd].Split("\r\n"))
                    if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line[15..].Trim());
            }
            if (headEnd >= 0 && received.Count >= headEnd + 4 + length) return;
        }
    }
}
