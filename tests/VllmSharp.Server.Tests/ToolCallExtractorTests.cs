using System.Text.Json;
using VllmSharp.Server.Endpoints.Chat.ToolCalls;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// The tool-call extractors fed the way the engine feeds them: the whole text at once (non-streaming) and one
/// character per piece (the worst split a stream can have). Both must give the same content and calls.
/// </summary>
public class ToolCallExtractorTests
{
    private const string HermesText = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
        + "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>";

    /// <summary>Content and calls (name, arguments) after merging every step's pieces by call index.</summary>
    private static (string Content, List<(string Id, string Name, string Arguments)> Calls) Run(ToolCallExtractor extractor, IEnumerable<string> pieces)
    {
        var content = new System.Text.StringBuilder();
        var calls = new List<(string Id, string Name, string Arguments)>();
        var list = pieces.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            ToolCallStep step = extractor.Push(list[i], final: i == list.Count - 1);
            content.Append(step.Content);
            foreach (DeltaToolCall d in step.ToolCalls)
            {
                if (d.Index == calls.Count)
                {
                    Assert.NotNull(d.Id);
                    Assert.Equal("function", d.Type);
                    calls.Add((d.Id!, d.Function.Name!, d.Function.Arguments ?? ""));
                }
                else
                {
                    Assert.Equal(calls.Count - 1, d.Index); // only the last call grows
                    Assert.Null(d.Id);
                    Assert.Null(d.Function.Name);
                    calls[^1] = (calls[^1].Id, calls[^1].Name, calls[^1].Arguments + d.Function.Arguments);
                }
            }
        }
        return (content.ToString(), calls);
    }

    private static IEnumerable<string> Chars(string text) => text.Select(c => c.ToString());

    [Fact]
    public void Hermes_WholeAndCharByChar_SameContentAndCalls()
    {
        foreach (var pieces in new[] { [HermesText], Chars(HermesText) })
        {
            var (content, calls) = Run(new AutoToolCallExtractor("hermes"), pieces);
            Assert.Equal("Let me check.\n", content);
            Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.Name));
            Assert.Equal("Paris", JsonDocument.Parse(calls[0].Arguments).RootElement.GetProperty("city").GetString());
            Assert.Equal("{}", calls[1].Arguments);
            Assert.NotEqual(calls[0].Id, calls[1].Id);
            Assert.Matches("^chatcmpl-tool-[0-9a-f]{32}$", calls[0].Id);
        }
    }

    [Fact]
    public void Hermes_ContentStreamsAtOnce_OnlyAPossibleMarkerWaits()
    {
        var extractor = new AutoToolCallExtractor("hermes");
        Assert.Equal("Hello", extractor.Push("Hello", final: false).Content);
        Assert.Equal(" ", extractor.Push(" <tool", final: false).Content); // "<tool" may begin "<tool_call>": held back
        // "<tool" turned out not to start a call: it is released as content.
        Assert.Equal("<tools are", extractor.Push("s are", final: false).Content);
    }

    [Fact]
    public void Hermes_CallEmittedWhenItsBlockCloses()
    {
        var extractor = new AutoToolCallExtractor("hermes");
        Assert.True(extractor.Push("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_ca", final: false).IsEmpty);
        ToolCallStep step = extractor.Push("ll>", final: false);
        Assert.Equal("f", Assert.Single(step.ToolCalls).Function.Name);
    }

    [Theory]
    [InlineData("<tool_call>\n{\"name\": \"f\", \"arguments\": {")] // never closed
    [InlineData("<tool_call>not json</tool_call>")]
    public void Hermes_BrokenCall_PassedOnAsContent(string text)
    {
        foreach (var pieces in new[] { [text], Chars(text) })
        {
            var (content, calls) = Run(new AutoToolCallExtractor("hermes"), pieces);
            Assert.Empty(calls);
            Assert.Equal(text, content);
        }
    }

    [Fact]
    public void Hermes_NotParallel_KeepsTheFirstCallOnly()
    {
        var (_, calls) = Run(new AutoToolCallExtractor("qwen3") { Parallel = false }, [HermesText]);
        Assert.Equal("get_weather", Assert.Single(calls).Name);
    }

    [Fact]
    public void Mistral_ContentThenCallArray()
    {
        const string text = "Sure.[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"n\": 1}}, {\"name\": \"b\", \"arguments\": {}}]";
        foreach (var pieces in new[] { [text], Chars(text) })
        {
            var (content, calls) = Run(new AutoToolCallExtractor("mistral"), pieces);
            Assert.Equal("Sure.", content);
            Assert.Equal(["a", "b"], calls.Select(c => c.Name));
        }
    }

    [Theory]
    [InlineData("  {\"name\": \"search\", \"parameters\": {\"q\": \"x\"}}")]
    [InlineData("<|python_tag|>{\"name\": \"search\", \"parameters\": {\"q\": \"x\"}}")]
    public void Llama3_JsonReply_IsACall(string text)
    {
        foreach (var pieces in new[] { [text], Chars(text) })
        {
            var (content, calls) = Run(new AutoToolCallExtractor("llama3_json"), pieces);
            Assert.Equal("", content);
            Assert.Equal("search", Assert.Single(calls).Name);
            Assert.Equal("x", JsonDocument.Parse(calls[0].Arguments).RootElement.GetProperty("q").GetString());
        }
    }

    [Fact]
    public void Llama3_PlainReply_StreamsAsContentImmediately()
    {
        var extractor = new AutoToolCallExtractor("llama3_json");
        Assert.True(extractor.Push(" ", final: false).IsEmpty); // a call may still follow the blank
        Assert.Equal(" Hi", extractor.Push("Hi", final: false).Content);
        Assert.Equal(" there", extractor.Push(" there", final: true).Content);
    }

    [Fact]
    public void Required_EachItemBecomesACallWhenItCloses_BracesInStringsIgnored()
    {
        const string text = "[{\"name\": \"a\", \"parameters\": {\"s\": \"}{]\\\"\"}}, {\"name\": \"b\", \"parameters\": {}}]";
        var extractor = new RequiredToolCallExtractor();
        int firstCallAt = -1;
        var calls = new List<DeltaToolCall>();
        for (int i = 0; i < text.Length; i++)
        {
            ToolCallStep step = extractor.Push(text[i].ToString(), final: i == text.Length - 1);
            Assert.Null(step.Content);
            if (step.ToolCalls.Count > 0 && firstCallAt < 0) firstCallAt = i;
            calls.AddRange(step.ToolCalls);
        }
        Assert.Equal(text.IndexOf("}}", StringComparison.Ordinal) + 1, firstCallAt); // the first item's closing brace
        Assert.Equal(["a", "b"], calls.Select(c => c.Function.Name));
        Assert.Equal("}{]\"", JsonDocument.Parse(calls[0].Function.Arguments!).RootElement.GetProperty("s").GetString());
        Assert.Equal("{}", calls[1].Function.Arguments);
    }

    [Fact]
    public void Required_CutBeforeAnyWholeItem_IsContent()
    {
        var (content, calls) = Run(new RequiredToolCallExtractor(), ["[{\"name\": \"a\", \"param"]);
        Assert.Empty(calls);
        Assert.Equal("[{\"name\": \"a\", \"param", content);
    }

    [Fact]
    public void Named_ArgumentsStreamAsTheyCome()
    {
        const string text = "{\"city\": \"Paris\", \"days\": 3}";
        var extractor = new NamedToolCallExtractor("get_weather");
        ToolCallStep first = extractor.Push("{\"ci", final: false);
        DeltaToolCall head = Assert.Single(first.ToolCalls);
        Assert.Equal(("get_weather", "{\"ci", 0), (head.Function.Name, head.Function.Arguments, head.Index));
        Assert.True(extractor.Push("", final: false).IsEmpty);
        var (_, calls) = Run(new NamedToolCallExtractor("get_weather"), Chars(text));
        Assert.Equal(text, Assert.Single(calls).Arguments);
    }

    [Fact]
    public void Hermes_TextAfterACall_SameContentWhetherTheBlankArrivesAloneOrNot()
    {
        const string text = "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>\nDone";
        var (whole, _) = Run(new AutoToolCallExtractor("hermes"), [text]);
        var (split, _) = Run(new AutoToolCallExtractor("hermes"), [text[..^4], "Done"]);
        var (chars, _) = Run(new AutoToolCallExtractor("hermes"), Chars(text));
        Assert.Equal("\nDone", whole);
        Assert.Equal(whole, split);
        Assert.Equal(whole, chars);
        // Blank text between two calls is layout and never content.
        var (between, calls) = Run(new AutoToolCallExtractor("hermes"), Chars(HermesText));
        Assert.Equal("Let me check.\n", between);
        Assert.Equal(2, calls.Count);
    }
}
