using System.Text.Json;
using VllmSharp.Core.Config;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Chat;
using VllmSharp.Engine.Core;
using VllmSharp.Engine.Tests.Offline;
using Xunit;

namespace VllmSharp.Engine.Tests.Chat;

/// <summary>
/// LLM.Chat must be exactly "render with the chat template, encode without special tokens, generate": greedy outputs
/// are compared token for token with LLM.Generate on a prompt rendered independently from hand-written JSON.
/// </summary>
public sealed class LLMChatTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    // IgnoreEos: a random-weight model may sample EOS at any point; a fixed length keeps the comparison meaningful.
    private static readonly SamplingParams s_greedy = new() { Temperature = 0, MaxTokens = 10, IgnoreEos = true };

    private const string ConversationJson = """[{"role":"system","content":"You are terse."},{"role":"user","content":"Hello there"}]""";
    private static readonly ChatTurn[] s_conversation = [ChatTurn.System("You are terse."), ChatTurn.User("Hello there")];
    private static readonly ChatTurn[] s_other = [ChatTurn.User("Count to three"), ChatTurn.Assistant("1 2 3"), ChatTurn.User("Again")];

    private LLM Create() => new(new EngineArgs { Model = model.Path, MaxModelLen = 256, KvCacheMemory = "32MiB" });

    private static void AssertNoLeakedBlocks(LLM llm)
    {
        var kv = llm.EngineCore.Scheduler.KVCacheManager;
        Assert.Equal(kv.NumBlocks, kv.NumFreeBlocks);
        Assert.False(llm.EngineCore.HasUnfinishedRequests);
    }

    private static RequestOutput GenerateOnRendered(LLM llm, string messagesJson, out string rendered)
    {
        using JsonDocument doc = JsonDocument.Parse(messagesJson);
        rendered = new ChatPromptRenderer(llm.Tokenizer).Render(doc.RootElement);
        return llm.Generate(PromptInput.FromTokens(llm.Tokenizer.Encode(rendered, addSpecialTokens: false)), s_greedy);
    }

    [Fact]
    public void Chat_OneConversation_SameTokensAsGenerateOnTheRenderedPrompt()
    {
        using LLM llm = Create();
        RequestOutput expected = GenerateOnRendered(llm, ConversationJson, out string rendered);

        IReadOnlyList<RequestOutput> outputs = llm.Chat(s_conversation, s_greedy, useProgressBar: false);

        RequestOutput actual = Assert.Single(outputs);
        Assert.Equal(rendered, actual.Prompt);
        Assert.Equal(expected.PromptTokenIds, actual.PromptTokenIds);
        Assert.Equal(expected.Outputs[0].TokenIds, actual.Outputs[0].TokenIds);
        Assert.Equal(expected.Outputs[0].Text, actual.Outputs[0].Text);
        Assert.Equal(10, actual.Outputs[0].TokenIds.Count);
        // Independent of our renderer: the ChatML layout every Qwen template produces, ending in the assistant header.
        Assert.Contains("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n", actual.Prompt);
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Chat_BatchOfConversations_EachEqualsItsConversationAloneInOrder()
    {
        using LLM llm = Create();
        IReadOnlyList<int> alone0 = llm.Chat(s_conversation, s_greedy, useProgressBar: false)[0].Outputs[0].TokenIds;
        IReadOnlyList<int> alone1 = llm.Chat(s_other, s_greedy, useProgressBar: false)[0].Outputs[0].TokenIds;

        IReadOnlyList<RequestOutput> batch = llm.Chat([s_other, s_conversation], s_greedy, useProgressBar: false);

        Assert.Equal(2, batch.Count);
        Assert.Equal(alone1, batch[0].Outputs[0].TokenIds);
        Assert.Equal(alone0, batch[1].Outputs[0].TokenIds);
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Chat_JsonMessagesAndJsonBatch_SameAsTypedMessages()
    {
        using LLM llm = Create();
        IReadOnlyList<int> typed = llm.Chat(s_conversation, s_greedy, useProgressBar: false)[0].Outputs[0].TokenIds;

        using JsonDocument one = JsonDocument.Parse(ConversationJson);
        using JsonDocument batch = JsonDocument.Parse($"[{ConversationJson},{ConversationJson}]");
        IReadOnlyList<RequestOutput> fromJson = llm.Chat(one.RootElement, s_greedy, useProgressBar: false);
        IReadOnlyList<RequestOutput> fromJsonBatch = llm.Chat(batch.RootElement, s_greedy, useProgressBar: false);

        Assert.Equal(typed, Assert.Single(fromJson).Outputs[0].TokenIds);
        Assert.Equal(2, fromJsonBatch.Count);
        Assert.All(fromJsonBatch, o => Assert.Equal(typed, o.Outputs[0].TokenIds));
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Chat_WithoutGenerationPrompt_PromptEndsAfterTheLastMessage()
    {
        using LLM llm = Create();
        RequestOutput output = llm.Chat(s_conversation, s_greedy, useProgressBar: false, addGenerationPrompt: false)[0];
        Assert.EndsWith("<|im_start|>user\nHello there<|im_end|>\n", output.Prompt);
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Chat_WithTools_TheTemplateSeesThem_SameAsRenderingWithTools()
    {
        using JsonDocument tools = JsonDocument.Parse("""[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""");
        using LLM llm = Create();
        RequestOutput output = llm.Chat(s_conversation, s_greedy, useProgressBar: false, tools: tools.RootElement)[0];
        using JsonDocument messages = JsonDocument.Parse(ConversationJson);
        string expected = new ChatPromptRenderer(llm.Tokenizer).Render(messages.RootElement, tools: tools.RootElement);
        Assert.Equal(expected, output.Prompt);
        Assert.Contains("get_weather", output.Prompt);
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Chat_EmptyConversation_ThrowsInvalidRequestAndRunsNothing()
    {
        using LLM llm = Create();
        Assert.Throws<InvalidRequestException>(() => llm.Chat([s_conversation, []], s_greedy, useProgressBar: false));
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void ToJsonArray_SpecialCharacters_RoundTripThroughJson()
    {
        JsonElement json = ChatTurn.ToJsonArray([ChatTurn.User("quote \" backslash \\ newline \n 你好")]);
        Assert.Equal(JsonValueKind.Array, json.ValueKind);
        Assert.Equal("user", json[0].GetProperty("role").GetString());
        Assert.Equal("quote \" backslash \\ newline \n 你好", json[0].GetProperty("content").GetString());
    }
}
