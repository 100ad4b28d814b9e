using System.Text.Json;
using VllmSharp.Engine.Tokenization.ChatTemplates;
using Xunit;

namespace VllmSharp.Engine.Tests.ChatTemplates;

/// <summary>
/// The public facade: accepted context value types, error reporting, and the HF behaviours that
/// matter most to a server (whitespace handling, tojson, raise_exception, a pinned clock).
/// Expected strings are written by hand from Jinja/HF semantics.
/// </summary>
public sealed class ChatTemplateTests
{
    private static string Render(string template, IReadOnlyDictionary<string, object?>? context = null) =>
        ChatTemplate.Parse(template).Render(context ?? new Dictionary<string, object?>());

    [Fact]
    public void Render_HostValues_ConvertedLikeJavaScript()
    {
        var context = new Dictionary<string, object?>
        {
            ["i"] = 3,
            ["l"] = 4L,
            ["d"] = 2.0, // an integral double is an integer in JS, so it prints without ".0"
            ["h"] = 0.5,
            ["b"] = false,
            ["n"] = null,
            ["list"] = new List<object?> { 1, "x", null },
            ["map"] = new Dictionary<string, object?> { ["k"] = new[] { "v" } },
        };

        string output = Render("{{ i + l }} {{ d }} {{ h }} {{ b }} {{ n is none }} {{ list|tojson }} {{ map.k[0] }}", context);

        Assert.Equal("7 2 0.5 false true [1, \"x\", null] v", output);
    }

    [Fact]
    public void Render_JsonElementContext_KeepsKeyOrderAndTypes()
    {
        using JsonDocument doc = JsonDocument.Parse("""{"z":1,"a":[true,1.5,"s"],"m":{"y":null,"b":2}}""");
        var context = new Dictionary<string, object?> { ["doc"] = doc.RootElement.Clone() };

        string output = Render("{{ doc|tojson }}|{% for k in doc %}{{ k }}{% endfor %}", context);

        Assert.Equal("""{"z": 1, "a": [true, 1.5, "s"], "m": {"y": null, "b": 2}}|zam""", output);
    }

    [Fact]
    public void Render_JsonNodeContext_Accepted()
    {
        var context = new Dictionary<string, object?> { ["node"] = System.Text.Json.Nodes.JsonNode.Parse("""{"a":[1,{"b":"c"}]}""") };

        Assert.Equal("c 2", Render("{{ node.a[1].b }} {{ node.a|length }}", context));
    }

    [Fact]
    public void Render_TojsonIndent_UsesPythonSeparators()
    {
        var context = new Dictionary<string, object?> { ["t"] = new Dictionary<string, object?> { ["a"] = new List<object?> { 1, 2 }, ["b"] = "é" } };

        string output = Render("{{ t|tojson(indent=2) }}", context);

        Assert.Equal("{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": \"é\"\n}", output);
    }

    [Fact]
    public void Render_TrimAndLstripBlocks_AsHuggingFaceSetsThem()
    {
        // trim_blocks drops the newline after a block tag; lstrip_blocks the indentation before it;
        // expression tags keep both; one trailing newline of the template is dropped.
        string output = Render("<a>\n  {% if true %}\n  x {{ 1 }}\n  {% endif %}\n</a>\n");

        Assert.Equal("<a>\n  x 1\n</a>", output);
    }

    [Fact]
    public void Render_WhitespaceControl_StripsAcrossLines()
    {
        string output = Render("a \n {{- 'b' -}} \n c {%- if true %} d{% endif -%}  \n e");

        // "-}}" eats " \n " so b and c touch; "{%-" eats the space before it; "-%}" eats "  \n ".
        Assert.Equal("abc de", output);
    }

    [Fact]
    public void Render_RaiseException_ThrowsWithTheTemplatesMessage()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => Render("{{ raise_exception('Only user and assistant roles are supported!') }}"));

        Assert.Equal("Only user and assistant roles are supported!", ex.Message);
    }

    [Fact]
    public void Render_StrftimeNow_UsesTheGivenClock()
    {
        ChatTemplate template = ChatTemplate.Parse("{{ strftime_now('%d %b %Y, %B %m %H:%M %%') }}", () => new DateTime(2024, 7, 6, 9, 5, 0));

        Assert.Equal("06 Jul 2024, July 07 09:05 %", template.Render(new Dictionary<string, object?>()));
    }

    [Theory]
    [InlineData("{% if x %}never closed", "line 1", "endif")]
    [InlineData("ok\n{{ x + }}", "line 2", "unexpected '}}'")]
    [InlineData("{% include 'other.jinja' %}", "line 1, column 4", "unsupported statement '{% include %}'")]
    [InlineData("a\n\n{% for x in xs recursive %}{% endfor %}", "line 3", "'recursive' loops")]
    [InlineData("{{ 'unterminated }}", "line 1, column 4", "unterminated string literal")]
    [InlineData("{{ x @ y }}", "line 1, column 6", "unexpected character '@'")]
    public void Parse_InvalidOrUnsupported_ThrowsNamingLineAndConstruct(string template, string where, string what)
    {
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(template));

        Assert.Contains(where, ex.Message, StringComparison.Ordinal);
        Assert.Contains(what, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{ 'a'.format(1) }}", "unsupported method 'format' on StringValue")]
    [InlineData("{{ [1, 2]|batch(1) }}", "unsupported filter 'batch'")]
    [InlineData("{{ 3 is divisibleby }}", "Unknown test: divisibleby")]
    [InlineData("{{ undefined_function() }}", "unsupported function 'undefined_function'")]
    public void Render_UnsupportedFeature_ThrowsNamingIt(string template, string what)
    {
        var ex = Assert.Throws<ChatTemplateException>(() => Render(template));

        Assert.Contains(what, ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_SameTemplateTwice_DoesNotLeakState()
    {
        ChatTemplate template = ChatTemplate.Parse("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}");
        var context = new Dictionary<string, object?> { ["messages"] = new List<object?> { "a", "b" } };

        Assert.Equal("2", template.Render(context));
        Assert.Equal("2", template.Render(context));
    }
}
