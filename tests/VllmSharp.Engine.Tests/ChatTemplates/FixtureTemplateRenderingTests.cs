using System.Text.Json;
using System.Text.Json.Nodes;
using VllmSharp.Engine.Tests.TestSupport;
using VllmSharp.Engine.Tokenization.ChatTemplates;
using Xunit;

namespace VllmSharp.Engine.Tests.ChatTemplates;

/// <summary>
/// Every real chat template in ../shared/fixtures/chat-templates (or, without ../shared, the three
/// tokenizer_config.json templates from the npm fixtures) rendered over
/// <see cref="ChatTemplateConversations"/> must equal @huggingface/jinja's output byte for byte;
/// where the reference raises (e.g. the template's own raise_exception), we must raise too.
/// </summary>
public sealed class FixtureTemplateRenderingTests
{
    /// <summary>
    /// Templates that @huggingface/jinja itself cannot render for any of our conversations, because
    /// they use something it lacks; we must raise too, with a message naming the construct (any
    /// output here would be unverifiable). Value: texts one of which our ChatTemplateException must contain.
    /// </summary>
    private static readonly Dictionary<string, string[]> s_referenceRaises = new(StringComparer.Ordinal)
    {
        // {1: ...} dict literals with integer keys.
        ["ByteDance-Seed-OSS.jinja"] = ["Object keys must be strings"],
        // Loops over an undefined variable without tools; with tools, trims a non-string.
        ["NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja"] = ["Expected iterable or object type in for loop: got UndefinedValue", "unsupported filter 'trim' on"],
        // Python's str.format.
        ["tencent-Hy3.jinja"] = ["unsupported method 'format' on StringValue"],
        // "tools is not none and tools|length": undefined is not none in HF, and has no length;
        // with tools, it applies |string to a mapping.
        ["unsloth-Apriel-1.5.jinja"] = ["unsupported filter 'length' on UndefinedValue", "unsupported filter 'string' on ObjectValue"],
    };

    private static readonly Lazy<Comparison> s_comparison = new(Compare);

    public static TheoryData<string> TemplateNames()
    {
        var data = new TheoryData<string>();
        foreach (string name in LoadTemplates().Keys)
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void Render_FixtureTemplate_MatchesHuggingFaceJinja(string name)
    {
        Comparison comparison = s_comparison.Value;
        List<string> failures = comparison.Failures.GetValueOrDefault(name) ?? [];
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        if (s_referenceRaises.TryGetValue(name, out string[]? reasons))
        {
            List<string> raised = comparison.BothRaised.GetValueOrDefault(name) ?? [];
            Assert.Equal(ChatTemplateConversations.All().Count, raised.Count);
            Assert.All(raised, message =>
            {
                string ours = message[message.IndexOf(", ours '", StringComparison.Ordinal)..];
                Assert.True(Array.Exists(reasons, r => ours.Contains(r, StringComparison.Ordinal)), $"{message} names none of: {string.Join("; ", reasons)}");
            });
        }
    }

    [Fact]
    public void Render_AllFixtureTemplates_IdenticalToHuggingFaceJinja()
    {
        Comparison comparison = s_comparison.Value;
        int conversations = ChatTemplateConversations.All().Count;
        int identical = comparison.Sources.Count - comparison.Failures.Count;
        var alwaysRaise = new List<string>();
        foreach ((string name, List<string> raised) in comparison.BothRaised)
        {
            if (raised.Count == conversations)
            {
                alwaysRaise.Add(name);
            }
        }

        ITestOutputHelper? output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"{identical} of {comparison.Sources.Count} fixture templates render identically to @huggingface/jinja over {conversations} conversations; {identical - alwaysRaise.Count} produce output, {alwaysRaise.Count} raise in every conversation as the reference does.");
        foreach ((string name, List<string> raised) in comparison.BothRaised)
        {
            output?.WriteLine($"{name}: both raised in {raised.Count} conversation(s): {string.Join(" | ", raised)}");
        }

        Assert.Equal(comparison.Sources.Count, identical);
        if (comparison.Sources.Count > 3)
        {
            // With ../shared present: the always-raising set is exactly the documented one.
            alwaysRaise.Sort(StringComparer.Ordinal);
            Assert.Equal(s_referenceRaises.Keys.Order(StringComparer.Ordinal), alwaysRaise);
        }
    }

    private sealed record Comparison(Dictionary<string, string> Sources, Dictionary<string, List<string>> Failures, Dictionary<string, List<string>> BothRaised);

    private static Comparison Compare()
    {
        Dictionary<string, string> sources = LoadTemplates();
        IReadOnlyList<(string Name, JsonObject Context)> conversations = ChatTemplateConversations.All();
        var jobs = new List<(string, JsonObject)>();
        foreach (string source in sources.Values)
        {
            foreach ((string _, JsonObject context) in conversations)
            {
                jobs.Add((source, context));
            }
        }

        IReadOnlyList<JinjaResult> expected = JinjaReference.Render(jobs);
        var failures = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var bothRaised = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        int job = 0;
        foreach ((string name, string source) in sources)
        {
            ChatTemplate? template = null;
            string? parseError = null;
            try
            {
                template = ChatTemplate.Parse(source);
            }
            catch (ChatTemplateException ex)
            {
                parseError = ex.Message;
            }

            foreach ((string conversation, JsonObject context) in conversations)
            {
                JinjaResult reference = expected[job++];
                string? actual = null;
                string? error = parseError;
                if (template is not null)
                {
                    try
                    {
                        actual = template.Render(ToContext(context));
                    }
                    catch (ChatTemplateException ex)
                    {
                        error = ex.Message;
                    }
                }

                string? problem = (reference.Ok, error is null) switch
                {
                    (true, true) when actual == reference.Output => null,
                    (true, true) => $"[{conversation}] output differs at {FirstDifference(reference.Output!, actual!)}\n--- expected ---\n{reference.Output}\n--- actual ---\n{actual}",
                    (true, false) => $"[{conversation}] we raised but the reference rendered: {error}",
                    (false, true) => $"[{conversation}] the reference raised ({reference.Error}) but we rendered:\n{actual}",
                    (false, false) => null,
                };
                if (!reference.Ok && error is not null)
                {
                    (bothRaised.TryGetValue(name, out List<string>? raised) ? raised : bothRaised[name] = []).Add($"{conversation}: reference '{reference.Error}', ours '{error}'");
                }

                if (problem is not null)
                {
                    (failures.TryGetValue(name, out List<string>? list) ? list : failures[name] = []).Add(problem);
                }
            }
        }

        return new Comparison(sources, failures, bothRaised);
    }

    private static int FirstDifference(string a, string b)
    {
        int i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i])
        {
            i++;
        }

        return i;
    }

    internal static IReadOnlyDictionary<string, object?> ToContext(JsonObject context)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, JsonNode?> pair in context)
        {
            result[pair.Key] = pair.Value is null ? null : JsonSerializer.Deserialize<JsonElement>(pair.Value.ToJsonString());
        }

        return result;
    }

    private static Dictionary<string, string> LoadTemplates()
    {
        var sources = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (Fixtures.SharedFixtures is string shared && Directory.Exists(Path.Combine(shared, "chat-templates")))
        {
            foreach (string path in Directory.GetFiles(Path.Combine(shared, "chat-templates"), "*.jinja"))
            {
                sources[Path.GetFileName(path)] = File.ReadAllText(path);
            }
        }
        else
        {
            // Without ../shared: the three tokenizer_config.json templates from the npm fixtures.
            foreach (string model in new[] { "qwen3", "llama3", "gemma3" })
            {
                string config = Path.Combine(Fixtures.TokenizerDir(model), "tokenizer_config.json");
                using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(config));
                sources[model + "-tokenizer-config.jinja"] = doc.RootElement.GetProperty("chat_template").GetString()!;
            }
        }

        return new Dictionary<string, string>(sources, StringComparer.Ordinal);
    }
}
