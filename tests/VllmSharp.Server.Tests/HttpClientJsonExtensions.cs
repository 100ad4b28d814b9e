using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>POSTs a JSON body and returns the parsed reply, failing the test (with the body) unless it is 200.</summary>
public static class HttpClientJsonExtensions
{
    public static async Task<JsonNode> PostOkAsync(this HttpClient http, string path, string json)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var response = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), ct);
        string text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"HTTP {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }
}
