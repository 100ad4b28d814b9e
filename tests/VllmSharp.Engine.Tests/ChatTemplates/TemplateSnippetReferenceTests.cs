using System.Text.Json.Nodes;
using VllmSharp.Engine.Tokenization.ChatTemplates;
using Xunit;

namespace VllmSharp.Engine.Tests.ChatTemplates;

/// <summary>
/// Small templates, one language feature each, rendered by us and by @huggingface/jinja (one
/// Node run for all of them): outputs must be byte-identical, or both must raise.
/// </summary>
public sealed class TemplateSnippetReferenceTests
{
    private const string Context = """
        {"messages":[{"role":"system","content":"S"},{"role":"user","content":"  Hi there  "},{"role":"assistant","content":"Yo","extra":null}],
         "n":7,"f":2.5,"neg":-3,"s":"Hello, World","u":"é🚀x","flag":true,"none_value":null,"list":[3,1,2,1],
         "words":["b","A","c"],"d":{"b":2,"a":1,"z":{"k":[1,2]}},"people":[{"name":"x","age":3,"ok":true},{"name":"y","age":1,"ok":false},{"name":"z","age":2}]}
        """;

    private static readonly string[] s_snippets =
    [
        // Loops and loop variables.
        "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}:{{ m.role }};{% endfor %}",
        "{% for x in [] %}x{% else %}empty{% endfor %}",
        "{% for x in list %}{{ loop.previtem }}>{{ x }}<{{ loop.nextitem }} {% endfor %}",
        "{% for x in list if x > 1 %}{{ x }}{% endfor %}",
        "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}",
        "{% for k in d %}{{ k }}{% endfor %}",
        "{% for x in list %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}|{% for x in list %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}",
        "{% for a, b in [(1, 2)] %}{{ a }}{% endfor %}",
        "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}",
        // Conditionals, set, scoping, namespace.
        "{% if n > 10 %}big{% elif n > 5 %}mid{% else %}small{% endif %}",
        "{% set x = 1 %}{% for i in range(3) %}{% set x = x + i %}{% endfor %}{{ x }}",
        "{% set ns = namespace(total=0, seen=[]) %}{% for i in range(4) %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}{{ ns }}",
        "{% set block %}  inner {{ n }}  {% endset %}[{{ block }}]",
        "{% set a, b = 1, 2 %}{{ a }}{{ b }}",
        "{{ 'yes' if flag else 'no' }}{{ 'x' if not flag }}|",
        // Macros and call blocks.
        "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }} {{ greet(name='C') }}",
        "{% macro kw() %}{{ kwargs }}{{ varargs }}{% endmacro %}{{ kw(1, 2, a=3) }}",
        "{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}body{{ n }}{% endcall %}",
        "{% macro m() %}{{ n }}{% endmacro %}{% for n in [1, 2] %}{{ m() }}{% endfor %}",
        // Arithmetic, comparison, logic, printing.
        "{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 1.0 }} {{ 2.5 * 2 }} {{ 0.1 + 0.2 }} {{ 1e3 if false else 3.14 }}",
        "{{ n + f }} {{ n - 10 }} {{ -n }} {{ neg }} {{ 10 - -3 }} {{ 1 - 1 }}",
        "{{ 'a' ~ 1 ~ 2.0 ~ true ~ none_value ~ list }}",
        "{{ 'a' + 'b' }} {{ [1] + [2] }} {{ 'x' + 1 }}",
        "{{ 1 == 1.0 }} {{ '1' == 1 }} {{ none_value == undefined_var }} {{ messages[0] == messages[0] }} {{ [1] == [1] }} {{ 2 != 3 }}",
        "{{ 1 < 2 }} {{ 3 >= 3 }} {{ 'b' in 'abc' }} {{ 'q' not in 'abc' }} {{ 1 in list }} {{ 9 in list }} {{ 'a' in d }} {{ 'x' in undefined_var }}",
        "{{ flag and 'yes' }} {{ none_value or 'fallback' }} {{ [] or 'empty' }} {{ not [] }} {{ 0 and 1 }}",
        "{{ true }} {{ none_value }} {{ undefined_var }} {{ list }} {{ d }} {{ [1, 'a', none_value, true, 1.5, 2.0] }} {{ (1, 2) }}",
        "{{ 'a' < 'b' }}",
        "{{ undefined_var + 1 }}",
        // Member access, indexing, slicing.
        "{{ messages[-1].content }} {{ messages[1]['role'] }} {{ d.z.k[1] }} {{ d.missing }} {{ s[0] }} {{ s[-1] }} {{ list.length }}",
        "{{ list[::-1] }} {{ list[1:] }} {{ list[:2] }} {{ list[-2:] }} {{ list[::2] }} {{ s[::-1] }} {{ s[7:] }} {{ u[::-1] }} {{ u[1:2] }}",
        // String methods.
        "{{ s.upper() }} {{ s.lower() }} [{{ messages[1].content.strip() }}] [{{ messages[1].content.lstrip() }}] [{{ messages[1].content.rstrip() }}] {{ 'hello world_x don\\'t'.title() }} {{ 'hELLO'.capitalize() }}",
        "{{ s.startswith('Hell') }} {{ s.endswith(('x', 'ld')) }} {{ s.split(', ') }} {{ '  a  b c '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a b c'.split(none, 1) }}",
        "{{ s.replace('l', 'L') }} {{ s.replace('l', 'L', 2) }} {{ 'ab'.replace('', '-') }} {{ s|replace('o', '0') }}",
        "{{ s.format(1) }}",
        // Filters.
        "{{ messages|length }} {{ s|length }} {{ d|length }} {{ list|first }} {{ list|last }} {{ list|reverse }} {{ list|sort }} {{ list|unique }} {{ words|sort }} {{ list|join }} {{ words|join(', ') }} {{ 'abc'|join('-') }}",
        "[{{ messages[1].content|trim }}] {{ s|upper }} {{ s|lower }} {{ s|title }} {{ 'x y'|capitalize }} {{ f|int }} {{ n|float }} {{ '42abc'|int }} {{ 'x'|int }} {{ '3.5'|float }} {{ neg|abs }} {{ f|string }} {{ flag|string }} {{ list|string }}",
        "{{ undefined_var|default('dflt') }} {{ ''|default('e', true) }} {{ ''|default('e') }} {{ none_value|default('n') }} {{ 'x'|int(7) }}",
        "{{ people|selectattr('ok')|map(attribute='name')|list }} {{ people|rejectattr('ok')|map(attribute='name')|join(',') }} {{ people|selectattr('name', 'equalto', 'y')|list }} {{ people|map(attribute='age', default=0)|list }}",
        "{{ people|sort(attribute='age')|map(attribute='name')|join }} {{ people|sort(attribute='name', reverse=true)|map(attribute='name')|join }} {{ words|sort(case_sensitive=true) }}",
        "{{ d|items }} {{ d.keys() }} {{ d.values() }} {{ d.get('a') }} {{ d.get('q', 'def') }} {{ d.get('q') }} {{ d|dictsort }} {{ d.items()|list }}",
        "{{ messages[0]|tojson }} {{ d|tojson(indent=2) }} {{ u|tojson }} {{ u|tojson(ensure_ascii=true) }} {{ d|tojson(sort_keys=true) }} {{ d|tojson(separators=(',', ':')) }} {{ [1, 2.5, none_value]|tojson }} {{ 'a\\nb\\t\"c\"\\\\'|tojson }} {{ []|tojson(indent=2) }}",
        "{{ 'line1\\nline2\\n\\nline4'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(width=1, blank=true) }}",
        "{% filter upper %}shout {{ n }}{% endfilter %}",
        "{{ list|map('string') }}",
        "{{ n|round }}",
        // Tests.
        "{{ n is defined }} {{ nope is undefined }} {{ none_value is none }} {{ s is string }} {{ d is mapping }} {{ list is iterable }} {{ s is sequence }} {{ n is number }} {{ f is integer }} {{ flag is boolean }} {{ flag is true }} {{ flag is false }} {{ n is odd }} {{ n is even }} {{ n is not even }} {{ 'ab' is lower }} {{ 'AB' is upper }} {{ range is callable }} {{ n is eq 7 }}",
        "{{ n is divisibleby 7 }}",
        // Globals.
        "{{ range(3) }} {{ range(1, 7, 2) }} {{ range(5, 0, -2) }}",
        "{{ raise_exception('Custom failure: ' ~ n) }}",
        // Whitespace control, trim_blocks/lstrip_blocks, comments, literals.
        "a  \n  {%- if true -%}  \n  b  \n  {%- endif -%}  \n  c",
        "line1\n    {% if true %}\n    kept indent\n    {% endif %}\nline2\n{{ n }}\n{# comment #}\nafter\n",
        "x {#- trimmed -#} y {{- n -}} z",
        "{%- generation -%} gen {% endgeneration %}",
        "{{ 'single \\'q\\'' }} {{ \"dbl \\\"q\\\"\" }} {{ 'tab\\there' }} {{ '\\u00e9\\x41' }} {{ 'con' 'cat' }}",
        "{{ {'a': 1, 'b': [1, 2], 'c': {'d': none_value}} }} {{ {'k': 'v'}['k'] }} {{ {}|length }}",
        "{{ {'b': 1, 'B': 2, 'a': 3, '_x': 4, 'A1': 5}|tojson(sort_keys=true) }} {{ {'b': 'B', 'a': 'c', 'C': 'a'}|dictsort }} {{ {'b': 'B', 'a': 'c'}|dictsort(by='value', reverse=true) }}",
        "{{ none_value.x }} {{ undefined_var.x }} {{ n.x }} {{ loop }} {{ messages[1].content[2:4] }} {{ messages[9] }} {{ s[100] }}",
        "{% if true %}{% set inner = 1 %}{% endif %}{{ inner }} {% for i in [1] %}{% set scoped = 2 %}{% endfor %}{{ scoped }}",
        "{% macro outer() %}{% macro inner() %}in{% endmacro %}{{ inner() }}-{{ caller() if caller is defined else 'nocaller' }}{% endmacro %}{{ outer() }}",
        "{% set d2 = {'x': none_value} %}{{ d2.x is none }} {{ d2.get('x') }} {{ d2.x|default('dd') }} {{ 'x' in d2 }}",
        "{{ messages|selectattr('role', 'eq', 'user')|list|length }} {{ messages|map(attribute='role')|join('|') }} {{ people|map(attribute='missing')|list }}",
        "{{ 3 * 'ab' if false else 'ab' * 1 }}",
        "{{ n ~ '' }}{{ f ~ '' }}{{ 1.0 ~ '' }}{{ 1.5e3 if false }}{{ 100000000000000000000000.0 }}",
        "{% for m in messages %}{%- if m.role == 'user' %}\n  <user>{{ m.content | trim }}</user>\n{%- elif m.role == 'assistant' %}\n  <bot>{{ m.content }}</bot>\n{%- endif %}\n{% endfor %}\n",
    ];

    private static readonly Lazy<IReadOnlyList<JinjaResult>> s_reference = new(() =>
    {
        var jobs = new List<(string, JsonObject)>();
        foreach (string snippet in s_snippets)
        {
            jobs.Add((snippet, (JsonObject)JsonNode.Parse(Context)!));
        }

        return JinjaReference.Render(jobs);
    });

    public static TheoryData<int> Indices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < s_snippets.Length; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Indices))]
    public void Render_Snippet_MatchesHuggingFaceJinja(int index)
    {
        string snippet = s_snippets[index];
        JinjaResult expected = s_reference.Value[index];
        string? actual = null;
        string? error = null;
        try
        {
            actual = ChatTemplate.Parse(snippet).Render(FixtureTemplateRenderingTests.ToContext((JsonObject)JsonNode.Parse(Context)!));
        }
        catch (ChatTemplateException ex)
        {
            error = ex.Message;
        }

        if (expected.Ok)
        {
            Assert.True(error is null, $"{snippet}\nwe raised: {error}\nreference: {expected.Output}");
            Assert.Equal(expected.Output, actual);
        }
        else
        {
            Assert.True(error is not null, $"{snippet}\nreference raised: {expected.Error}\nwe rendered: {actual}");
        }
    }
}
