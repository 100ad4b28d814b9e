using System.ClientModel;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// Tool calling through the official OpenAI .NET SDK against the real server: a forced (named) call and a "required"
/// call, non-streamed and streamed (the SDK reassembles the deltas), and the call's result sent back as a tool message.
/// </summary>
public sealed class OpenAISdkToolCallTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string WeatherParameters = """{"type":"object","properties":{"city":{"enum":["Paris","Oslo"]},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],"additionalProperties":false}""";

    private ChatClient Client() => new(ServerFixture.ModelName, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl + "/v1") });

    private static ChatCompletionOptions Options(ChatToolChoice choice)
    {
        var options = new ChatCompletionOptions { ToolChoice = choice, MaxOutputTokenCount = 96, Temperature = 1 };
        options.Tools.Add(ChatTool.CreateFunctionTool("get_weather", "Weather by city", BinaryData.FromString(WeatherParameters)));
        options.Tools.Add(ChatTool.CreateFunctionTool("get_time", "Current time", BinaryData.FromString("""{"type":"object","properties":{"zone":{"enum":["UTC","CET"]}},"required":["zone"]}""")));
        return options;
    }

    private static void AssertWeatherArguments(BinaryData arguments)
    {
        using JsonDocument doc = JsonDocument.Parse(arguments.ToString());
        Assert.Contains(doc.RootElement.GetProperty("city").GetString(), new[] { "Paris", "Oslo" });
        Assert.InRange(doc.RootElement.GetProperty("days").GetInt32(), 1, 7);
    }

    [Fact]
    public async Task NamedFunction_CallParsedByTheSdk_ThenToolResultAccepted()
    {
        ChatClient chat = Client();
        List<ChatMessage> messages = [new UserChatMessage("Weather in Oslo for two days?")];
        ChatCompletion completion = await chat.CompleteChatAsync(messages, Options(ChatToolChoice.CreateFunctionChoice("get_weather")), Ct);
        ChatToolCall call = Assert.Single(completion.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal(ChatToolCallKind.Function, call.Kind);
        Assert.StartsWith("chatcmpl-tool-", call.Id);
        AssertWeatherArguments(call.FunctionArguments);

        // The assistant turn (with its call) and the tool's answer go back; the model continues from them.
        messages.Add(new AssistantChatMessage(completion));
        messages.Add(new ToolChatMessage(call.Id, "Rain, 4 C"));
        ChatCompletionOptions noMoreCalls = Options(ChatToolChoice.CreateNoneChoice());
        noMoreCalls.MaxOutputTokenCount = 4;
        ChatCompletion answer = await chat.CompleteChatAsync(messages, noMoreCalls, Ct);
        Assert.Empty(answer.ToolCalls);
        Assert.True(answer.Usage.InputTokenCount > completion.Usage.InputTokenCount);
    }

    [Fact]
    public async Task Required_Streamed_SdkReassemblesTheSameCallsAsNonStreamed()
    {
        ChatClient chat = Client();
        ChatMessage[] messages = [new UserChatMessage("Weather or time?")];
        ChatCompletionOptions options = Options(ChatToolChoice.CreateRequiredChoice());
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK
        options.Seed = 5;
#pragma warning restore OPENAI001
        ChatCompletion completion = await chat.CompleteChatAsync(messages, options, Ct);
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.NotEmpty(completion.ToolCalls);

        var names = new Dictionary<int, string>();
        var arguments = new Dictionary<int, StringBuilder>();
        ChatFinishReason? finish = null;
        await foreach (StreamingChatCompletionUpdate update in chat.CompleteChatStreamingAsync(messages, options, Ct))
        {
            finish ??= update.FinishReason;
            foreach (StreamingChatToolCallUpdate part in update.ToolCallUpdates)
            {
                if (part.FunctionName is not null) names[part.Index] = part.FunctionName;
                if (!arguments.TryGetValue(part.Index, out StringBuilder? text)) arguments[part.Index] = text = new StringBuilder();
                text.Append(part.FunctionArgumentsUpdate?.ToString());
            }
        }
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal(completion.ToolCalls.Select(c => c.FunctionName), names.OrderBy(p => p.Key).Select(p => p.Value));
        Assert.Equal(completion.ToolCalls.Select(c => c.FunctionArguments.ToString()), arguments.OrderBy(p => p.Key).Select(p => p.Value.ToString()));
        foreach (ChatToolCall call in completion.ToolCalls.Where(c => c.FunctionName == "get_weather")) AssertWeatherArguments(call.FunctionArguments);
    }
}
