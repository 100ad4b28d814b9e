using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// Field names as the OpenAI API treats them: an unknown one is a 400 naming it; one OpenAI or vLLM defines but this
/// server does not implement yet is a 501 naming it; harmless bookkeeping fields are accepted.
/// </summary>
public sealed class RequestFieldsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Chat = "/v1/chat/completions";
    private const string Completions = "/v1/completions";
    private const string Messages = "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]";

    [Theory]
    [InlineData(Chat, "{" + Messages + ""","max_tokenz":3}""", "max_tokenz")]
    [InlineData(Completions, """{"prompt":"x","temprature":0}""", "temprature")]
    [InlineData("/tokenize", """{"prompt":"x","bogus":1}""", "bogus")]
    public async Task UnknownField_400_Unrecognized(string path, string json, string field)
    {
        JsonNode error = await ErrorAsync(path, json, HttpStatusCode.BadRequest);
        Assert.Equal($"Unrecognized request argument supplied: {field}", (string?)error["message"]);
        Assert.Equal(field, (string?)error["param"]);
    }

    [Theory]
    [InlineData(Chat, "{" + Messages + ""","use_beam_search":true}""", "use_beam_search")]
    [InlineData(Completions, """{"prompt":"x","guided_whitespace_pattern":" "}""", "guided_whitespace_pattern")]
    [InlineData(Completions, """{"prompt":"x","suffix":"!"}""", "suffix")]
    public async Task KnownButNotImplementedField_501_NamingIt(string path, string json, string field)
    {
        JsonNode error = await ErrorAsync(path, json, HttpStatusCode.NotImplemented);
        Assert.Contains(field, (string?)error["message"]);
    }

    [Theory]
    [InlineData(Chat, "{" + Messages + ""","max_tokens":1,"metadata":{"k":"v"},"store":false,"user":"u","parallel_tool_calls":true,"response_format":{"type":"text"},"suffix":null}""")]
    [InlineData(Completions, """{"prompt":"x","max_tokens":1,"user":"u","echo":false,"stream_options":null}""")]
    public async Task IgnoredOrNeutralFields_Accepted(string path, string json)
    {
        using var response = await server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
    }

    private async Task<JsonNode> ErrorAsync(string path, string json, HttpStatusCode expected)
    {
        using var response = await server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        string text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == expected, $"HTTP {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!["error"]!;
    }
}
