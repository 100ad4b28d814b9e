using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// The server's own tokenizer over HTTP, in either dialect: vLLM's <c>/tokenize</c> takes
/// <c>prompt</c>/<c>add_special_tokens</c> and <c>/detokenize</c> answers <c>prompt</c>; llama-server's takes
/// <c>content</c>/<c>add_special</c> and answers <c>content</c>. The dialect is found by trying vLLM's first (separate
/// bodies: a strict server rejects fields it does not know).
/// </summary>
public sealed class ServerPromptTokenizer : IPromptTokenizer
{
    private readonly HttpClient _http;
    private readonly string _baseUrl, _model;
    private readonly bool _llamaCpp;

    private ServerPromptTokenizer(HttpClient http, string baseUrl, string model, bool llamaCpp)
        => (_http, _baseUrl, _model, _llamaCpp) = (http, baseUrl, model, llamaCpp);

    public string Source => "server /tokenize";
    public int NumSpecialTokens => 0;
    public int[]? TextTokenIds => null;

    /// <summary>The server's tokenizer, or null when it has no working <c>/tokenize</c> and <c>/detokenize</c>.</summary>
    public static ServerPromptTokenizer? TryCreate(HttpClient http, string baseUrl, string model)
    {
        foreach (bool llamaCpp in (ReadOnlySpan<bool>)[false, true])
        {
            var candidate = new ServerPromptTokenizer(http, baseUrl, model, llamaCpp);
            try
            {
                int[] ids = candidate.Encode("Hello world");
                if (ids.Length > 0 && candidate.Decode(ids).Contains("world", StringComparison.Ordinal)) return candidate;
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or InvalidOperationException or TaskCanceledException)
            {
                // not this dialect (or no tokenizer endpoints at all)
            }
        }
        return null;
    }

    public int[] Encode(string text)
    {
        JsonNode answer = Post("/tokenize", _llamaCpp
            ? new JsonObject { ["content"] = text, ["add_special"] = false }
            : new JsonObject { ["model"] = _model, ["prompt"] = text, ["add_special_tokens"] = false });
        JsonArray tokens = answer["tokens"]?.AsArray() ?? throw new InvalidOperationException("/tokenize answered without tokens.");
        var ids = new int[tokens.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = tokens[i]!.GetValue<int>();
        return ids;
    }

    public string Decode(int[] ids)
    {
        var tokens = new JsonArray();
        foreach (int id in ids) tokens.Add(id);
        JsonNode answer = Post("/detokenize", _llamaCpp ? new JsonObject { ["tokens"] = tokens } : new JsonObject { ["model"] = _model, ["tokens"] = tokens });
        return (answer["prompt"] ?? answer["content"])?.GetValue<string>() ?? throw new InvalidOperationException("/detokenize answered without text.");
    }

    private JsonNode Post(string path, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _baseUrl + path) { Content = JsonContent.Create(body) };
        using HttpResponseMessage response = _http.Send(request);
        response.EnsureSuccessStatusCode();
        using Stream stream = response.Content.ReadAsStream();
        return JsonNode.Parse(stream) ?? throw new InvalidOperationException($"{path} answered null.");
    }
}
