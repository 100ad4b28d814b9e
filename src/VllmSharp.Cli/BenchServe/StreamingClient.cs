using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// Sends one streaming request to an OpenAI-compatible server (vLLM, llama-server, ours) and timestamps every SSE
/// chunk: TTFT at the first chunk carrying generated text, ITL between later ones, latency at the end of the stream,
/// completion_tokens from the usage chunk. Any transport error, non-2xx status or streamed error marks it failed.
/// </summary>
public sealed class StreamingClient(HttpClient http, string apiUrl, string model, bool chat, bool ignoreEos)
{
    /// <summary>An HttpClient whose pool allows <paramref name="connections"/> concurrent streams to one server.</summary>
    public static HttpClient CreateHttpClient(int connections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = Math.Max(1, connections),
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        AutomaticDecompression = DecompressionMethods.None,
        UseProxy = false,
    })
    {
        Timeout = TimeSpan.FromHours(6), // vLLM's aiohttp session total timeout
    };

    /// <summary>The request body: completions take the prompt, chat one user message; greedy as vLLM's default.</summary>
    public JsonObject Body(SampleRequest sample)
    {
        var body = new JsonObject { ["model"] = model };
        if (chat)
        {
            body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = sample.Prompt });
            body["max_completion_tokens"] = sample.ExpectedOutputLen;
        }
        else
        {
            body["prompt"] = sample.Prompt;
        }
        // Chat too: older servers (llama-server among them) read only max_tokens.
        body["max_tokens"] = sample.ExpectedOutputLen;
        body["temperature"] = 0.0;
        body["stream"] = true;
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        if (ignoreEos) body["ignore_eos"] = true;
        return body;
    }

    /// <summary>
    /// Sends the request, once more if the first send fails before any response (a server closing the connection
    /// under it). The retry's time counts in the request's TTFT.
    /// </summary>
    private async Task<HttpResponseMessage> PostAsync(SampleRequest sample, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, apiUrl)
            {
                Content = new StringContent(Body(sample).ToJsonString(), Encoding.UTF8, "application/json"),
            };
            // One connection per request: llama-server drops about one in fifty streamed requests sent on a reused
            // keep-alive connection ("response ended prematurely"; none through a connection-per-request proxy).
            // A loopback connect costs microseconds, the same for every server measured.
            request.Headers.ConnectionClose = true;
            try
            {
                return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (attempt == 1 && !cancellationToken.IsCancellationRequested)
            {
            }
        }
    }

    /// <param name="benchmarkStart">Stopwatch timestamp of the benchmark start (for <see cref="RequestResult.StartTime"/>).</param>
    public async Task<RequestResult> SendAsync(SampleRequest sample, long benchmarkStart, CancellationToken cancellationToken)
    {
        var result = new RequestResult { PromptLen = sample.PromptLen };
        var text = new StringBuilder();
        long start = Stopwatch.GetTimestamp(), lastChunk = 0;
        result.StartTime = Stopwatch.GetElapsedTime(benchmarkStart, start).TotalSeconds;
        try
        {
            using HttpResponseMessage response = await PostAsync(sample, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                result.Error = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}: {body}";
                return result;
            }
            using Stream stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is string line)
            {
                if (!line.StartsWith("data:", StringComparison.Ordinal)) continue; // blank separators, comments, event names
                string payload = line.AsSpan(5).Trim().ToString();
                if (payload == "[DONE]") break;
                long now = Stopwatch.GetTimestamp();
                using JsonDocument chunk = JsonDocument.Parse(payload);
                JsonElement root = chunk.RootElement;
                if (root.TryGetProperty("error", out JsonElement error))
                {
                    result.Error = "stream error: " + (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out JsonElement m) ? m.ToString() : error.ToString());
                    return result;
                }
                if (root.TryGetProperty("usage", out JsonElement usage) && usage.ValueKind == JsonValueKind.Object
                    && usage.TryGetProperty("completion_tokens", out JsonElement completionTokens) && completionTokens.TryGetInt32(out int tokens))
                    result.UsageOutputTokens = tokens;
                string? content = Content(root);
                if (string.IsNullOrEmpty(content)) continue;
                if (result.ContentChunks == 0) result.Ttft = Stopwatch.GetElapsedTime(start, now).TotalSeconds;
                else result.Itl.Add(Stopwatch.GetElapsedTime(lastChunk, now).TotalSeconds);
                lastChunk = now;
                result.ContentChunks++;
                text.Append(content);
            }
            result.Latency = Stopwatch.GetElapsedTime(start).TotalSeconds;
            result.GeneratedText = text.ToString();
            if (result.ContentChunks == 0 && result.UsageOutputTokens is not > 0)
                result.Error = "the stream carried no generated text";
            else
                result.Success = true;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            result.Error = $"{e.GetType().Name}: {e.Message}" + (e.InnerException is { } inner ? $" ({inner.Message})" : "");
        }
        return result;
    }

    /// <summary>choices[0].text (completions) or choices[0].delta.content / reasoning_content (chat).</summary>
    private string? Content(JsonElement root)
    {
        if (!root.TryGetProperty("choices", out JsonElement choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            return null;
        JsonElement choice = choices[0];
        if (!chat) return choice.TryGetProperty("text", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (!choice.TryGetProperty("delta", out JsonElement delta) || delta.ValueKind != JsonValueKind.Object) return null;
        foreach (string name in (ReadOnlySpan<string>)["content", "reasoning_content", "reasoning"])
            if (delta.TryGetProperty(name, out JsonElement c) && c.ValueKind == JsonValueKind.String && c.GetString() is { Length: > 0 } s)
                return s;
        return null;
    }
}
