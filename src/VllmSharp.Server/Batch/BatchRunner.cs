using System.Text.Json;
using System.Text.Json.Nodes;
using VllmSharp.Core.Errors;
using VllmSharp.Engine;
using VllmSharp.Engine.Chat;
using VllmSharp.Server.Endpoints.Chat;
using VllmSharp.Server.Endpoints.Completions;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Batch;

/// <summary>
/// Runs an OpenAI batch file as vLLM's <c>run_batch</c> does: each input line
/// <c>{"custom_id", "method": "POST", "url", "body"}</c> becomes one output line
/// <c>{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}</c>, in input order. All lines
/// run concurrently on one engine; a bad line gets an error line and the batch goes on. Both <c>/v1/completions</c>
/// and <c>/v1/chat/completions</c> bodies are accepted.
/// </summary>
public sealed class BatchRunner(AsyncLLM engine, string servedModelName)
{
    private readonly CompletionService _completions = new(engine);
    private readonly ChatService _chat = new(engine, new ChatPromptRenderer(engine.Tokenizer));

    public async Task<(int Succeeded, int Failed)> RunAsync(IReadOnlyList<string> lines, TextWriter output, Action? onLineDone = null,
        CancellationToken cancellationToken = default)
    {
        var work = new List<Task<JsonObject>>();
        for (int i = 0; i < lines.Count; i++)
            if (!string.IsNullOrWhiteSpace(lines[i])) work.Add(RunLineAsync(lines[i], onLineDone, cancellationToken));
        JsonObject[] results = await Task.WhenAll(work).ConfigureAwait(false);
        int failed = 0;
        foreach (JsonObject result in results)
        {
            if (result["error"] is not null) failed++;
            await output.WriteLineAsync(result.ToJsonString()).ConfigureAwait(false);
        }
        return (results.Length - failed, failed);
    }

    private async Task<JsonObject> RunLineAsync(string line, Action? onDone, CancellationToken cancellationToken)
    {
        string? customId = null;
        string requestId = Guid.NewGuid().ToString("N");
        try
        {
            JsonNode? node = JsonNode.Parse(line);
            if (node is not JsonObject item) throw new InvalidRequestException("Each line must be a JSON object.");
            customId = item["custom_id"]?.GetValue<string>();
            string? method = item["method"]?.GetValue<string>();
            string? url = item["url"]?.GetValue<string>();
            if (method is not null && !method.Equals("POST", StringComparison.OrdinalIgnoreCase))
                throw new InvalidRequestException($"Only POST is supported, got {method}.", "method");
            JsonNode body = item["body"] ?? throw new InvalidRequestException("The line has no body.", "body");
            object response = url switch
            {
                "/v1/completions" => await CompleteAsync(body, requestId, cancellationToken).ConfigureAwait(false),
                "/v1/chat/completions" => await ChatAsync(body, requestId, cancellationToken).ConfigureAwait(false),
                _ => throw new InvalidRequestException($"Unsupported url '{url}'; supported: /v1/completions, /v1/chat/completions.", "url"),
            };
            return Line(customId, requestId, 200, JsonSerializer.SerializeToNode(response, OpenAIJson.Options), null);
        }
        catch (Exception e) when (e is InvalidRequestException or JsonException or InvalidOperationException or FormatException)
        {
            return Line(customId, requestId, 400, null, e.Message);
        }
        finally
        {
            onDone?.Invoke();
        }
    }

    private Task<CompletionResponse> CompleteAsync(JsonNode body, string requestId, CancellationToken cancellationToken)
    {
        CompletionRequest request = body.Deserialize<CompletionRequest>(OpenAIJson.Options) ?? throw new InvalidRequestException("Empty body.", "body");
        if (request.Stream == true) throw new InvalidRequestException("stream is not supported in batch files.", "stream");
        return _completions.CreateAsync(request, requestId, request.Model ?? servedModelName, cancellationToken);
    }

    private Task<ChatCompletionResponse> ChatAsync(JsonNode body, string requestId, CancellationToken cancellationToken)
    {
        ChatCompletionRequest request = body.Deserialize<ChatCompletionRequest>(OpenAIJson.Options) ?? throw new InvalidRequestException("Empty body.", "body");
        if (request.Stream == true) throw new InvalidRequestException("stream is not supported in batch files.", "stream");
        return _chat.CreateAsync(request, requestId, request.Model ?? servedModelName, cancellationToken);
    }

    private static JsonObject Line(string? customId, string requestId, int status, JsonNode? body, string? error) => new()
    {
        ["id"] = $"vllm-{Guid.NewGuid():N}",
        ["custom_id"] = customId,
        ["response"] = new JsonObject
        {
            ["status_code"] = status,
            ["request_id"] = $"vllm-batch-{requestId}",
            ["body"] = body,
        },
        ["error"] = error,
    };
}
