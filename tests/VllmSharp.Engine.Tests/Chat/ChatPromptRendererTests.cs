using System.Text.Json;
using VllmSharp.Core.Errors;
using VllmSharp.Engine.Chat;
using VllmSharp.Engine.Tokenization;
using Xunit;

namespace VllmSharp.Engine.Tests.Chat;

/// <summary>
/// continue_final_message and the request extras as Hugging Face's apply_chat_template handles them, on small
/// templates whose output is easy to write out by hand.
/// </summary>
public sealed class ChatPromptRendererTests
{
    private static readonly HfTokenizer s_tokenizer = BuiltinTokenizer.Load();

    /// <summary>A template that trims message content, as many real ones do (e.g. Llama 3's <c>| trim</c>).</summary>
    private const string Trimming = "{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}</{{ m.role }}>{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";

    private static string Render(string template, string messagesJson, bool addGenerationPrompt, bool continueFinal, string? kwargs = null)
    {
        using JsonDocument messages = JsonDocument.Parse(messagesJson);
        Dictionary<string, JsonElement>? extra = kwargs is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(kwargs);
        return new ChatPromptRenderer(s_tokenizer, template).Render(messages.RootElement, addGenerationPrompt, continueFinal, chatTemplateKwargs: extra);
    }

    [Fact]
    public void ContinueFinalMessage_CutsAfterTheFinalContent()
    {
        const string messages = """[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]""";
        Assert.Equal("<user>Hi</user><assistant>Hello</assistant>", Render(Trimming, messages, false, false));
        Assert.Equal("<user>Hi</user><assistant>Hello", Render(Trimming, messages, false, true));
    }

    [Fact]
    public void ContinueFinalMessage_TemplateTrimsTheContent_FallsBackToTheTrimmedText()
    {
        // "Hello " never appears in the output; its trimmed form does (Hugging Face's fallback).
        Assert.Equal("<user>Hi</user><assistant>Hello",
            Render(Trimming, """[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello "}]""", false, true));
    }

    [Fact]
    public void ContinueFinalMessage_ContentAsTextParts_UsesTheirText()
    {
        Assert.Equal("<user>Hi</user><assistant>Hello",
            Render(Trimming, """[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"text","text":"Hello"}]}]""", false, true));
    }

    [Fact]
    public void ContinueFinalMessage_ContentNotInTheOutput_400()
    {
        const string dropsAssistant = "{% for m in messages %}{% if m.role == 'user' %}{{ m.content }}{% endif %}{% endfor %}";
        var e = Assert.Throws<InvalidRequestException>(() =>
            Render(dropsAssistant, """[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]""", false, true));
        Assert.Equal("continue_final_message", e.Parameter);
    }

    [Fact]
    public void ContinueFinalMessage_WithAddGenerationPrompt_400()
    {
        var e = Assert.Throws<InvalidRequestException>(() => Render(Trimming, """[{"role":"assistant","content":"Hello"}]""", true, true));
        Assert.Equal("continue_final_message", e.Parameter);
    }

    [Fact]
    public void ChatTemplateKwargs_AreTemplateVariables()
    {
        const string template = "{% if enable_thinking is defined and enable_thinking is false %}no-think:{% endif %}{{ messages[0].content }}";
        Assert.Equal("no-think:Hi", Render(template, """[{"role":"user","content":"Hi"}]""", true, false, """{"enable_thinking":false}"""));
        Assert.Equal("Hi", Render(template, """[{"role":"user","content":"Hi"}]""", true, false));
    }

    [Fact]
    public void ToolCallArguments_JsonStringsBecomeObjects_MissingNullOrEmptyBecomeEmptyObjects_NullContentIsEmpty()
    {
        // As vLLM passes assistant tool calls to the template: arguments parsed, so tojson prints an object.
        const string template = "{% for m in messages %}[{{ m.content }}]{% for c in m.tool_calls %}{{ c.function.name }}={{ c.function.arguments | tojson }};{% endfor %}{% endfor %}";
        const string messages = """
            [{"role":"assistant","content":null,"tool_calls":[
              {"id":"1","type":"function","function":{"name":"a","arguments":"{\"x\":1}"}},
              {"id":"2","type":"function","function":{"name":"b","arguments":""}},
              {"id":"3","type":"function","function":{"name":"c"}},
              {"id":"4","type":"function","function":{"name":"d","arguments":"not json"}}]}]
            """;
        Assert.Equal("""[]a={"x": 1};b={};c={};d="not json";""", Render(template, messages, false, false));
    }
}
