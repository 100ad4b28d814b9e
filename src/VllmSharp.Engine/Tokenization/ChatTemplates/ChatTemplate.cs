namespace VllmSharp.Engine.Tokenization.ChatTemplates;

/// <summary>
/// A parsed Hugging Face chat template (a Jinja subset) that renders byte-identically to
/// @huggingface/jinja, the renderer transformers.js uses: trim_blocks and lstrip_blocks on, one
/// trailing newline of the template dropped, JavaScript-flavoured value printing
/// (<c>true</c>, <c>1.0</c>) and HF's filter/test/method set. Parsed once, rendered many times;
/// rendering is thread-safe.
/// </summary>
public sealed class ChatTemplate
{
    private readonly List<TemplateNode> _body;
    private readonly string _source;
    private readonly Func<DateTime> _now;

    private ChatTemplate(List<TemplateNode> body, string source, Func<DateTime> now)
    {
        _body = body;
        _source = source;
        _now = now;
    }

    /// <summary>Parses a template; throws <see cref="ChatTemplateException"/> naming line, column and construct on errors.</summary>
    public static ChatTemplate Parse(string source) => Parse(source, () => DateTime.Now);

    /// <summary>As <see cref="Parse(string)"/> with the clock <c>strftime_now</c> reads (tests pin it).</summary>
    public static ChatTemplate Parse(string source, Func<DateTime> now)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(now);
        List<TemplateToken> tokens = TemplateLexer.Tokenize(source);
        return new ChatTemplate(TemplateParser.Parse(tokens, source), source, now);
    }

    /// <summary>
    /// Renders with <paramref name="context"/> as variables. Values: string, bool, int/long/double,
    /// null, lists, string-keyed dictionaries (insertion order kept), System.Text.Json.JsonElement
    /// and JsonNode. As in JavaScript, an integral double is an integer (2.0 prints as "2").
    /// </summary>
    public string Render(IReadOnlyDictionary<string, object?> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var globals = new TemplateScope(null);
        TemplateBuiltins.AddGlobals(globals, _now);
        var scope = new TemplateScope(globals);
        foreach (KeyValuePair<string, object?> pair in context)
        {
            scope.Set(pair.Key, TemplateValues.FromHost(pair.Value));
        }

        return new TemplateInterpreter(_source).Render(_body, scope);
    }
}
