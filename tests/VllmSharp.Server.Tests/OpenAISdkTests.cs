using System.ClientModel;
using OpenAI;
using OpenAI.Models;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>The official OpenAI .NET SDK against the real server.</summary>
public sealed class OpenAISdkTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private OpenAIClient Client() => new(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl + "/v1") });

    [Fact]
    public async Task Models_ListedByTheSdk()
    {
        OpenAIModelClient models = Client().GetOpenAIModelClient();
        OpenAIModelCollection list = await models.GetModelsAsync(TestContext.Current.CancellationToken);
        Assert.Contains(list, m => m.Id == ServerFixture.ModelName);
    }

    [Fact]
    public async Task UnknownModel_SdkSurfaces404()
    {
        var chat = Client().GetChatClient("nope");
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            chat.CompleteChatAsync([new OpenAI.Chat.UserChatMessage("hi")], cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(404, error.Status);
    }
}
