using Microsoft.Extensions.AI;
using VllmSharp.Core.Config;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Chat;
using VllmSharp.Engine.Tests.Offline;
using Xunit;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;


namespace VllmSharp.Engine.Tests.Chat;

/// <summary>
/// The IChatClient adapter over AsyncLLM on a tiny seeded model: streaming and non-streaming agree, options reach the
/// sampler, usage and finish reasons are reported, and a cancelled stream leaves the engine idle.
/// </summary>
public sealed class VllmChatClientTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    private static readonly AIChatMessage[] s_messages = [new(ChatRole.System, "You are terse."), new(ChatRole.User, "Hello there")];

    // Greedy with a fixed length: a random-weight model may sample EOS anywhere, ignore_eos keeps lengths exact.
    private static ChatOptions Greedy(int maxTokens) => new()
    {
        Temperature = 0,
        MaxOutputTokens = maxTokens,
        AdditionalProperties = new() { ["ignore_eos"] = true },
    };

    private AsyncLLM Create() => new(new EngineArgs { Model = model.Path, MaxModelLen = 512, KvCacheMemory = "32MiB" });

    private static async Task AssertIdleSoon(AsyncLLM engine)
    {
        // Aborts reach the engine thread asynchronously: poll (bounded at ~5 s) instead of sleeping a fixed time.
        for (int i = 0; i < 500 && !engine.Stats.IsIdle; i++) await Task.Delay(10, TestContext.Current.CancellationToken);
        Assert.True(engine.Stats.IsIdle, $"engine not idle: {engine.Stats}");
        Assert.Equal(0, engine.NumUnfinishedRequests);
    }

    // Seeded sampling rather than greedy: this random-weight model's greedy reply is a run of newlines, which would
    // make the text comparisons weak. A seeded request samples the same tokens wherever it runs.
    private static ChatOptions Seeded(int maxTokens) => new()
    {
        Temperature = 1,
        Seed = 99,
        MaxOutputTokens = maxTokens,
        AdditionalProperties = new() { ["ignore_eos"] = true },
    };

    [Fact]
    public async Task GetResponseAsync_Seeded_TextEqualsConcatenatedStreamingUpdatesAndLLMChat()
    {
        string offline;
        using (var llm = new LLM(new EngineArgs { Model = model.Path, MaxModelLen = 512, KvCacheMemory = "32MiB" }))
            offline = llm.Chat([ChatTurn.System("You are terse."), ChatTurn.User("Hello there")],
                new SamplingParams { Temperature = 1, Seed = 99, MaxTokens = 12, IgnoreEos = true }, useProgressBar: false)[0].Outputs[0].Text;

        using AsyncLLM engine = Create();
        using var client = new VllmChatClient(engine);
        CancellationToken ct = TestContext.Current.CancellationToken;

        ChatResponse response = await client.GetResponseAsync(s_messages, Seeded(12), ct);
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(s_messages, Seeded(12), ct)) updates.Add(update);

        Assert.False(string.IsNullOrWhiteSpace(offline), "the reference text should have some content to compare");
        Assert.Equal(offline, response.Text);
        Assert.Equal(response.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.True(updates.Count > 1, "streaming should yield one update per delta, not one at the end");
        Assert.All(updates, u => Assert.Equal(ChatRole.Assistant, u.Role));
        Assert.Equal(ChatRole.Assistant, Assert.Single(response.Messages).Role);

        // Usage: the prompt is the rendered template encoded without special tokens; 12 generated tokens.
        int promptTokens = engine.Tokenizer.Encode(new ChatPromptRenderer(engine.Tokenizer).Render(
            ChatTurn.ToJsonArray([ChatTurn.System("You are terse."), ChatTurn.User("Hello there")])), addSpecialTokens: false).Count;
        Assert.Equal(promptTokens, response.Usage!.InputTokenCount);
        Assert.Equal(12, response.Usage.OutputTokenCount);
        Assert.Equal(promptTokens + 12, response.Usage.TotalTokenCount);
        UsageContent streamedUsage = Assert.Single(updates.SelectMany(u => u.Contents).OfType<UsageContent>());
        Assert.Equal(response.Usage.InputTokenCount, streamedUsage.Details.InputTokenCount);
        Assert.Equal(response.Usage.OutputTokenCount, streamedUsage.Details.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
        Assert.Equal(client.ModelId, response.ModelId);
        await AssertIdleSoon(engine);
    }

    [Fact]
    public async Task GetResponseAsync_MaxOutputTokens_StopsThereWithLengthFinishReason()
    {
        using AsyncLLM engine = Create();
        using var client = new VllmChatClient(engine);
        ChatResponse response = await client.GetResponseAsync(s_messages, Greedy(5), TestContext.Current.CancellationToken);
        Assert.Equal(5, response.Usage!.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        await AssertIdleSoon(engine);
    }

    [Fact]
    public async Task GetResponseAsync_StopSequence_TextEndsBeforeItWithStopFinishReason()
    {
        using AsyncLLM engine = Create();
        using var client = new VllmChatClient(engine);
        CancellationToken ct = TestContext.Current.CancellationToken;
        // Seeded sampling, not greedy: this model's greedy reply here is a run of newlines, useless for picking a stop
        // string. A seed makes both calls sample the same tokens (per-request generator), so Seed is exercised too.
        ChatOptions Sampled() => new() { Temperature = 1, Seed = 1234, MaxOutputTokens = 16, AdditionalProperties = new() { ["ignore_eos"] = true } };
        string full = (await client.GetResponseAsync(s_messages, Sampled(), ct)).Text;

        // A stop string taken from the unconstrained greedy text, at a character that first appears past its start:
        // generation must end just before that first occurrence (stop strings are excluded from the output by default,
        // as in OpenAI/vLLM), so the text is cut strictly inside.
        string stop = FirstNewCharacterAfterStart(full);
        ChatOptions options = Sampled();
        options.StopSequences = [stop];
        ChatResponse stopped = await client.GetResponseAsync(s_messages, options, ct);

        int cut = full.IndexOf(stop, StringComparison.Ordinal);
        Assert.InRange(cut, 1, full.Length - 1); // the stop really truncates: neither empty nor the whole text
        Assert.Equal(full[..cut], stopped.Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        await AssertIdleSoon(engine);
    }

    private static string FirstNewCharacterAfterStart(string text)
    {
        for (int i = 1; i < text.Length - 1; i++)
        {
            if (char.IsLowSurrogate(text[i])) continue;
            string candidate = text.Substring(i, char.IsHighSurrogate(text[i]) ? 2 : 1);
            if (text.IndexOf(candidate, StringComparison.Ordinal) == i) return candidate;
        }
        throw new InvalidOperationException($"No usable stop string in '{text}'.");
    }

    [Fact]
    public async Task GetResponseAsync_Instructions_SameAsALeadingSystemMessage()
    {
        using AsyncLLM engine = Create();
        using var client = new VllmChatClient(engine);
        CancellationToken ct = TestContext.Current.CancellationToken;
        ChatOptions options = Seeded(8);
        options.Instructions = "You are terse.";
        ChatResponse withInstructions = await client.GetResponseAsync([new AIChatMessage(ChatRole.User, "Hello there")], options, ct);
        ChatResponse withSystem = await client.GetResponseAsync(s_messages, Seeded(8), ct);
        Assert.Equal(withSystem.Text, withInstructions.Text);
        Assert.Equal(withSystem.Usage!.InputTokenCount, withInstructions.Usage!.InputTokenCount);
        await AssertIdleSoon(engine);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CancelledMidStream_AbortsAndEngineIsIdle()
    {
        using AsyncLLM engine = Create();
        using var client = new VllmChatClient(engine);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (ChatResponseUpdate _ in client.GetStreamingResponseAsync(s_messages, Greedy(400), cts.Token))
                if (++seen == 3) cts.Cancel();
        });
        // Updates already buffered when the token fired may still arrive; the request must stop long before 400.
        Assert.InRange(seen, 3, 50);
        await AssertIdleSoon(engine);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_BreakAfterFirstUpdate_AbortsAndEngineIsIdle()
    {
        using AsyncLLM engine = Create();
        using var client = new VllmChatClient(engine);
        await foreach (ChatResponseUpdate _ in client.GetStreamingResponseAsync(s_messages, Greedy(400), TestContext.Current.CancellationToken))
            break;
        await AssertIdleSoon(engine);
    }

    [Fact]
    public async Task GetResponseAsync_NonTextContent_ThrowsNotSupported()
    {
        using AsyncLLM engine = Create();
        using var client = new VllmChatClient(engine);
        AIChatMessage image = new(ChatRole.User, [new DataContent(new byte[] { 1, 2, 3 }, "image/png")]);
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync([image], Greedy(4), TestContext.Current.CancellationToken));
        await AssertIdleSoon(engine);
    }

    [Fact]
    public void GetService_MetadataEngineAndSelf_Returned()
    {
        using AsyncLLM engine = Create();
        using var client = new VllmChatClient(engine, modelId: "tiny");
        ChatClientMetadata metadata = Assert.IsType<ChatClientMetadata>(client.GetService(typeof(ChatClientMetadata)));
        Assert.Equal("tiny", metadata.DefaultModelId);
        Assert.Equal("vllmsharp", metadata.ProviderName);
        Assert.Same(engine, client.GetService(typeof(AsyncLLM)));
        Assert.Same(client, client.GetService(typeof(IChatClient)));
        Assert.Null(client.GetService(typeof(IChatClient), serviceKey: "other"));
        Assert.Null(client.GetService(typeof(string)));
    }

    [Fact]
    public void ToSamplingParams_EveryOption_MapsOntoItsSamplingParam()
    {
        var options = new ChatOptions
        {
            Temperature = 0.5f,
            TopP = 0.75f,
            TopK = 7,
            MaxOutputTokens = 33,
            StopSequences = ["END", "\n\n"],
            Seed = 42,
            FrequencyPenalty = 0.25f,
            PresencePenalty = -0.5f,
            AdditionalProperties = new() { ["min_p"] = 0.125, ["repetition_penalty"] = 1.5, ["min_tokens"] = 3, ["ignore_eos"] = true },
        };
        SamplingParams p = VllmChatClient.ToSamplingParams(options);
        // The float options are exact binary fractions, so the float→double widening is exact.
        Assert.Equal(0.5, p.Temperature);
        Assert.Equal(0.75, p.TopP);
        Assert.Equal(7, p.TopK);
        Assert.Equal(33, p.MaxTokens);
        Assert.Equal(["END", "\n\n"], p.Stop);
        Assert.Equal(42L, p.Seed);
        Assert.Equal(0.25, p.FrequencyPenalty);
        Assert.Equal(-0.5, p.PresencePenalty);
        Assert.Equal(0.125, p.MinP);
        Assert.Equal(1.5, p.RepetitionPenalty);
        Assert.Equal(3, p.MinTokens);
        Assert.True(p.IgnoreEos);
    }

    [Fact]
    public void ToSamplingParams_NoOptions_OpenAIDefaultsUpToTheContextLength()
    {
        SamplingParams p = VllmChatClient.ToSamplingParams(null);
        Assert.Equal(1.0, p.Temperature);
        Assert.Equal(1.0, p.TopP);
        Assert.Equal(-1, p.TopK);
        Assert.Null(p.MaxTokens);
        Assert.Empty(p.Stop);
        Assert.Null(p.Seed);
        Assert.Equal(p, VllmChatClient.ToSamplingParams(new ChatOptions()));
    }

    [Fact]
    public void ToSamplingParams_Tools_ThrowsNotSupported()
    {
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create(() => 1, "one")] };
        Assert.Throws<NotSupportedException>(() => VllmChatClient.ToSamplingParams(options));
    }

    public enum Colour { Red, Green }

    // The bound keeps the integer inside Int32: an unbounded JSON integer may have any number of digits.
    public sealed record Pick(Colour Colour, [property: System.ComponentModel.DataAnnotations.Range(1, 9)] int Count);

    [Fact]
    public async Task GetResponseAsync_JsonSchemaFormatOfAType_ReplyDeserializes()
    {
        // As MEAI's structured-output helper does: the type's JSON schema (AIJsonUtilities) as ResponseFormat; the
        // constraint, not this random-weight model, is what makes the reply deserialize.
        var web = new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)
        {
            Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        };
        var format = ChatResponseFormat.ForJsonSchema(AIJsonUtilities.CreateJsonSchema(typeof(Pick), serializerOptions: web), "Pick");
        using AsyncLLM engine = Create();
        using var client = new VllmChatClient(engine);
        CancellationToken ct = TestContext.Current.CancellationToken;
        for (int seed = 1; seed <= 3; seed++)
        {
            var options = new ChatOptions { Temperature = 1, Seed = seed, MaxOutputTokens = 64, ResponseFormat = format };
            ChatResponse response = await client.GetResponseAsync([new(ChatRole.User, "Pick a colour and a count.")], options, ct);
            Pick? pick = System.Text.Json.JsonSerializer.Deserialize<Pick>(response.Text, web);
            Assert.True(pick is not null && Enum.IsDefined(pick.Colour), response.Text);
            Assert.InRange(pick.Count, 1, 9);
        }
        await AssertIdleSoon(engine);
    }

    [Fact]
    public async Task GetResponseAsync_JsonFormatWithoutSchema_ReplyIsAJsonObject()
    {
        using AsyncLLM engine = Create();
        using var client = new VllmChatClient(engine);
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 200, ResponseFormat = ChatResponseFormat.Json };
        ChatResponse response = await client.GetResponseAsync(s_messages, options, TestContext.Current.CancellationToken);
        if (response.FinishReason == ChatFinishReason.Stop)
            Assert.Equal(System.Text.Json.JsonValueKind.Object, System.Text.Json.JsonDocument.Parse(response.Text).RootElement.ValueKind);
        else
            Assert.StartsWith("{", response.Text); // cut by max tokens: still the start of an object
    }
}
