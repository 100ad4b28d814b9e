using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>POST /v1/chat/completions with the model's real (Qwen) chat template, over raw HTTP and the OpenAI .NET SDK.</summary>
public sealed class ChatEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ChatClient Chat() => new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl + "/v1") })
        .GetChatClient(ServerFixture.ModelName);

    [Fact]
    public async Task Chat_OpenAISdk_CompletesWithUsageAndFinishReason()
    {
        ChatCompletion completion = await Chat().CompleteChatAsync(
            [new SystemChatMessage("You are terse."), new UserChatMessage("Say hi")],
            new ChatCompletionOptions { MaxOutputTokenCount = 6, Temperature = 0 }, Ct);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.True(completion.Usage.OutputTokenCount is > 0 and <= 6);
        Assert.True(completion.Usage.InputTokenCount > 10); // the template added its role markers
        Assert.StartsWith("chatcmpl-", completion.Id);
    }

    [Fact]
    public async Task Chat_OpenAISdkStreaming_ConcatenatesToTheNonStreamingText()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 0 };
        ChatMessage[] messages = [new UserChatMessage("Count to three")];
        ChatCompletion whole = await Chat().CompleteChatAsync(messages, options, Ct);
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (StreamingChatCompletionUpdate update in Chat().CompleteChatStreamingAsync(messages, options, Ct))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
        }
        Assert.Equal(whole.Content.Count > 0 ? whole.Content[0].Text : "", text.ToString());
        Assert.NotNull(finish);
    }

    [Fact]
    public async Task Chat_RawSse_RoleFirstFinishLastThenDone()
    {
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(
            """{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"ignore_eos":true,"stream":true}""",
            Encoding.UTF8, "application/json"), Ct);
        string[] events = (await response.Content.ReadAsStringAsync(Ct)).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);
        Assert.Equal("length", (string?)chunks[^1]["choices"]![0]!["finish_reason"]);
        Assert.All(chunks.Skip(1), c => Assert.Null(c["choices"]![0]!["delta"]!["role"]));
        await server.AssertEngineIdleAsync();
    }

    [Theory]
    [InlineData("""{"model":"tiny","messages":[]}""", 400, "messages")]
    [InlineData("""{"model":"tiny","messages":"hi"}""", 400, "messages")]
    [InlineData("""{"model":"tiny","messages":[{"content":"no role"}]}""", 400, "messages")]
    [InlineData("""{"model":"tiny","messages":[{"role":"user","content":"x"}],"max_completion_tokens":100000}""", 400, "prompt")]
    [InlineData("""{"model":"other","messages":[{"role":"user","content":"x"}]}""", 404, "model")]
    public async Task Chat_BadInput_4xxNamingTheParameter(string json, int status, string param)
    {
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        Assert.Equal((HttpStatusCode)status, response.StatusCode);
        JsonNode error = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["error"]!;
        Assert.Equal(param, (string?)error["param"]);
    }
}
