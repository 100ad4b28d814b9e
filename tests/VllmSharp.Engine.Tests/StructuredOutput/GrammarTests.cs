using System.Text.Json;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.StructuredOutput;
using Xunit;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>GBNF grammars: random walks over the Qwen vocabulary must produce sentences of the grammar.</summary>
public sealed class GrammarTests
{
    private const string Arithmetic = """
        # integer arithmetic with parentheses
        root   ::= expr
        expr   ::= term (("+" | "-") term)*
        term   ::= factor (("*" | "/") factor)*
        factor ::= [0-9]+ | "(" expr ")"
        """;

    // llama.cpp's json.gbnf shape, written fresh.
    internal const string JsonGrammar = """
        root   ::= object
        value  ::= object | array | string | number | ("true" | "false" | "null") ws
        object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
        array  ::= "[" ws ( value ("," ws value)* )? "]" ws
        string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
        number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9]{1,2})? ws
        ws     ::= | " " | "\n" [ \t]{0,20}
        """;

    [Fact]
    public void RandomWalk_ArithmeticGrammar_OutputsAreExpressions()
    {
        int completed = 0, nested = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            var result = ConstrainedWalk.Run(StructuredOutputsParams.ForGrammar(Arithmetic), seed, maxTokens: 300, shortTokenBias: 0.5);
            if (!result.Completed) continue;
            completed++;
            if (result.Text.Contains('(')) nested++;
            Assert.True(ExpressionChecker.IsExpression(result.Text), $"not an expression: {result.Text}");
        }
        Assert.True(completed >= 30, $"{completed} of 40 walks completed");
        Assert.True(nested > 0, "no walk used parentheses");
    }

    [Fact]
    public void RandomWalk_JsonGrammar_OutputsParseAsObjects()
    {
        int completed = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            var result = ConstrainedWalk.Run(StructuredOutputsParams.ForGrammar(JsonGrammar), seed, maxTokens: 600, shortTokenBias: 0.8);
            if (!result.Completed) continue;
            completed++;
            using var doc = JsonDocument.Parse(result.Text);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        }
        Assert.True(completed >= 5, $"{completed} of 20 walks completed");
    }

    [Theory]
    [InlineData("1+2*(3-4)", true)]
    [InlineData("((7))", true)]
    [InlineData("1+", false)]
    [InlineData("(1", false)]
    [InlineData("1)", false)]
    [InlineData("", false)]
    public void Compile_Arithmetic_AcceptsExactlyExpressions(string text, bool expected)
    {
        var dfa = new LazyDfa(new ByteNfa(GbnfCompiler.Compile(Arithmetic)));
        Assert.Equal(expected, RegexDfaTests.Accepts(dfa, text));
        Assert.Equal(expected, ExpressionChecker.IsExpression(text));
    }

    [Theory]
    [InlineData("root ::= foo", "undefined rule 'foo'")]
    [InlineData("root ::= \"a", "unterminated string")]
    [InlineData("root ::= [a-", "unterminated character class")]
    [InlineData("root = \"a\"", "expected '::='")]
    [InlineData("root ::= (\"a\"", "expected ')'")]
    public void Compile_BadGrammar_ErrorSaysWhy(string grammar, string expected)
    {
        var e = Assert.Throws<StructuredOutputException>(() => GbnfCompiler.Compile(grammar));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Compile_RepeatedRuleAndQuantifiers_CombineAsAlternatives()
    {
        var dfa = new LazyDfa(new ByteNfa(GbnfCompiler.Compile("root ::= \"a\"{2,3} x?\nx ::= \"b\"\nx ::= [c-d]+")));
        Assert.True(RegexDfaTests.Accepts(dfa, "aa"));
        Assert.True(RegexDfaTests.Accepts(dfa, "aaab"));
        Assert.True(RegexDfaTests.Accepts(dfa, "aacdc"));
        Assert.False(RegexDfaTests.Accepts(dfa, "a"));
        Assert.False(RegexDfaTests.Accepts(dfa, "aabb"));
    }

    /// <summary>An independent recursive-descent recogniser for the arithmetic grammar.</summary>
    private static class ExpressionChecker
    {
        public static bool IsExpression(string s)
        {
            int pos = 0;
            return Expr(s, ref pos) && pos == s.Length;
        }

        private static bool Expr(string s, ref int pos)
        {
            if (!Term(s, ref pos)) return false;
            while (pos < s.Length && s[pos] is '+' or '-') { pos++; if (!Term(s, ref pos)) return false; }
            return true;
        }

        private static bool Term(string s, ref int pos)
        {
            if (!Factor(s, ref pos)) return false;
            while (pos < s.Length && s[pos] is '*' or '/') { pos++; if (!Factor(s, ref pos)) return false; }
            return true;
        }

        private static bool Factor(string s, ref int pos)
        {
            if (pos < s.Length && s[pos] == '(')
            {
                pos++;
                if (!Expr(s, ref pos) || pos >= s.Length || s[pos] != ')') return false;
                pos++;
                return true;
            }
            int start = pos;
            while (pos < s.Length && char.IsAsciiDigit(s[pos])) pos++;
            return pos > start;
        }
    }
}
