using System.ClientModel;
using System.Text;
using Microsoft.Extensions.AI;
using OpenAI;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// Microsoft.Extensions.AI.OpenAI's <see cref="IChatClient"/> (the OpenAI SDK's ChatClient behind AsIChatClient)
/// pointed at the real server, as a .NET app using MEAI would talk to vllmsharp serve.
/// </summary>
public sealed class MicrosoftExtensionsAIOpenAITests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IChatClient Client() => new OpenAI.Chat.ChatClient(ServerFixture.ModelName, new ApiKeyCredential("unused"),
        new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl + "/v1") }).AsIChatClient();

    [Fact]
    public async Task GetResponseAsync_And_Streaming_GreedyTextEqual_WithUsageAndFinishReason()
    {
        using IChatClient client = Client();
        ChatMessage[] messages = [new(ChatRole.System, "You are terse."), new(ChatRole.User, "Name three colours")];
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 8 };

        ChatResponse response = await client.GetResponseAsync(messages, options, Ct);
        Assert.False(string.IsNullOrEmpty(response.Text));
        Assert.NotNull(response.FinishReason);
        Assert.True(response.Usage?.OutputTokenCount is > 0 and <= 8);
        Assert.True(response.Usage?.InputTokenCount > 10); // the chat template's role markers count too
        Assert.StartsWith("chatcmpl-", response.ResponseId);

        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(messages, options, Ct))
        {
            streamed.Append(update.Text);
            finish ??= update.FinishReason;
        }
        Assert.Equal(response.Text, streamed.ToString());
        Assert.Equal(response.FinishReason, finish);
        await server.AssertEngineIdleAsync();
    }

    [Fact]
    public async Task GetResponseAsync_UnknownModel_ThrowsWith404()
    {
        using IChatClient client = new OpenAI.Chat.ChatClient("no-such-model", new ApiKeyCredential("unused"),
            new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl + "/v1") }).AsIChatClient();
        var e = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync("hi", cancellationToken: Ct));
        Assert.Equal(404, e.Status);
    }
}
