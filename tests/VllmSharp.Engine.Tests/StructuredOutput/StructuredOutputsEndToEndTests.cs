using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;
using VllmSharp.Core.Config;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Core;
using VllmSharp.Engine.StructuredOutput;
using VllmSharp.Engine.Tests.Offline;
using Xunit;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>
/// Structured outputs through LLM.Generate on a tiny random-weight model with the real Qwen tokenizer: constrained
/// outputs obey their constraint and end with EOS, and unconstrained requests in the same batch get exactly the
/// tokens they get without the constrained ones beside them.
/// </summary>
public sealed class StructuredOutputsEndToEndTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    private const string Schema = """
        {"type":"object","properties":{"name":{"type":"string","maxLength":6},"age":{"type":"integer","minimum":0,"maximum":150},
         "tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":2}},"required":["name","age"]}
        """;
    private static readonly string[] s_choices = ["red", "green", "blue"];
    private const string Pattern = "[A-Z]{2}-[0-9]{3}";

    private LLM Create() => new(new EngineArgs { Model = model.Path, MaxModelLen = 256, KvCacheMemory = "32MiB" });

    [Fact]
    public void Generate_MixedBatch_ConstrainedOutputsValidAndUnconstrainedUnchanged()
    {
        using LLM llm = Create();
        var unconstrained = new[]
        {
            new SamplingParams { Temperature = 0, MaxTokens = 10, IgnoreEos = true },
            new SamplingParams { Temperature = 1, Seed = 5, MaxTokens = 10, IgnoreEos = true },
        };
        var constrained = new[]
        {
            new SamplingParams { Temperature = 1, Seed = 1, MaxTokens = 80, StructuredOutputs = StructuredOutputsParams.ForJson(Schema) },
            new SamplingParams { Temperature = 0, MaxTokens = 20, StructuredOutputs = StructuredOutputsParams.ForChoice(s_choices) },
            new SamplingParams { Temperature = 1, Seed = 2, MaxTokens = 20, StructuredOutputs = StructuredOutputsParams.ForRegex(Pattern) },
            new SamplingParams { Temperature = 0.7, Seed = 3, MaxTokens = 80, StructuredOutputs = StructuredOutputsParams.ForJsonObject() },
        };
        PromptInput[] prompts = ["Hello", "Tell me about", "Person:", "Color:", "Code:", "JSON:"];

        IReadOnlyList<RequestOutput> alone = llm.Generate(prompts[..2], unconstrained, useProgressBar: false);
        IReadOnlyList<RequestOutput> mixed = llm.Generate(prompts, [.. unconstrained, .. constrained], useProgressBar: false);

        for (int i = 0; i < 2; i++) Assert.Equal(alone[i].Outputs[0].TokenIds, mixed[i].Outputs[0].TokenIds);

        CompletionOutput json = mixed[2].Outputs[0];
        Assert.Equal("stop", json.FinishReason);
        using (var doc = JsonDocument.Parse(json.Text))
            Assert.True(JsonSchema.FromText(Schema).Evaluate(doc.RootElement).IsValid, json.Text);

        Assert.Contains(mixed[3].Outputs[0].Text, s_choices);
        Assert.Equal("stop", mixed[3].Outputs[0].FinishReason);
        Assert.Matches(new Regex("^" + Pattern + "$"), mixed[4].Outputs[0].Text);

        CompletionOutput anyObject = mixed[5].Outputs[0];
        if (anyObject.FinishReason == "stop")
            using (var doc = JsonDocument.Parse(anyObject.Text)) Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        else Assert.StartsWith("{", anyObject.Text);

        var kv = llm.EngineCore.Scheduler.KVCacheManager;
        Assert.Equal(kv.NumBlocks, kv.NumFreeBlocks);
    }

    [Fact]
    public void Generate_SameSeedConstrainedTwice_SameOutput()
    {
        using LLM llm = Create();
        var p = new SamplingParams { Temperature = 1, Seed = 9, MaxTokens = 60, StructuredOutputs = StructuredOutputsParams.ForJson(Schema) };
        Assert.Equal(llm.Generate("A", p).Outputs[0].Text, llm.Generate("A", p).Outputs[0].Text);
    }

    [Fact]
    public async Task GenerateAsync_StreamedDeltas_ConcatenateToAValidDocument()
    {
        using var llm = new AsyncLLM(new EngineArgs { Model = model.Path, MaxModelLen = 256, KvCacheMemory = "32MiB" });
        var p = new SamplingParams
        {
            Temperature = 1,
            Seed = 4,
            MaxTokens = 80,
            OutputKind = RequestOutputKind.Delta,
            StructuredOutputs = StructuredOutputsParams.ForJson(Schema),
        };
        var text = new System.Text.StringBuilder();
        int chunks = 0;
        string? finish = null;
        await foreach (RequestOutput output in llm.GenerateAsync("Person:", p, "s1", cancellationToken: TestContext.Current.CancellationToken))
        {
            if (output.Outputs.Count == 0) continue;
            text.Append(output.Outputs[0].Text);
            finish = output.Outputs[0].FinishReason ?? finish;
            chunks++;
        }
        Assert.Equal("stop", finish);
        Assert.True(chunks > 1);
        using var doc = JsonDocument.Parse(text.ToString());
        Assert.True(JsonSchema.FromText(Schema).Evaluate(doc.RootElement).IsValid, text.ToString());
    }

    [Fact]
    public void Generate_UnsupportedSchema_RejectedBeforeAnythingRuns()
    {
        using LLM llm = Create();
        var p = new SamplingParams { StructuredOutputs = StructuredOutputsParams.ForJson("""{"type":"object","not":{}}""") };
        var e = Assert.Throws<StructuredOutputException>(() => llm.Generate("A", p));
        Assert.Contains("'not'", e.Message);
        Assert.False(llm.EngineCore.HasUnfinishedRequests);
    }

    [Fact]
    public void Validate_TwoConstraints_Throws()
    {
        var p = new SamplingParams { StructuredOutputs = new StructuredOutputsParams { Regex = "a", JsonObject = true } };
        var e = Assert.Throws<InvalidRequestException>(p.Validate);
        Assert.Equal("structured_outputs", e.Parameter);
    }
}
