using System.Text.Json;
using VllmSharp.Server.Endpoints.Chat.ToolCalls;
using Xunit;

namespace VllmSharp.Server.Tests;

public class ToolCallTests
{
    [Fact]
    public void Hermes_TwoCallsWithText_ExtractsBothAndContent()
    {
        var text = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>";
        var r = ToolCallParser.Parse("hermes", text);
        Assert.Equal("Let me check.", r.Content);
        Assert.Equal(2, r.ToolCalls.Count);
        Assert.Equal("get_weather", r.ToolCalls[0].Name);
        Assert.Equal("Paris", JsonDocument.Parse(r.ToolCalls[0].Arguments).RootElement.GetProperty("city").GetString());
        Assert.Equal("get_time", r.ToolCalls[1].Name);
    }

    [Theory]
    [InlineData("hermes", "<tool_call>\n{\"name\": \"f\", \"arguments\": {\n</tool_call>")]
    [InlineData("qwen3", "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}")]
    [InlineData("llama3_json", "{\"name\": \"f\", \"parameters\": ")]
    [InlineData("llama3_json", "hello there")]
    [InlineData("mistral", "[TOOL_CALLS][{\"arguments\": {}}]")]
    [InlineData("mistral", "just text")]
    public void Parse_Malformed_ReturnsPlainContent(string parser, string text)
    {
        var r = ToolCallParser.Parse(parser, text);
        Assert.Empty(r.ToolCalls);
        Assert.Equal(text, r.Content);
    }

    [Fact]
    public void Llama3_PythonTagPrefix_ExtractsParameters()
    {
        var r = ToolCallParser.Parse("llama3_json", "<|python_tag|>{\"name\": \"search\", \"parameters\": {\"q\": \"x\"}}");
        Assert.Null(r.Content);
        var call = Assert.Single(r.ToolCalls);
        Assert.Equal("search", call.Name);
        Assert.Equal("x", JsonDocument.Parse(call.Arguments).RootElement.GetProperty("q").GetString());
    }

    [Fact]
    public void Mistral_ArrayOfCalls_ExtractsAll()
    {
        var r = ToolCallParser.Parse("mistral", "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"n\": 1}}, {\"name\": \"b\", \"arguments\": {}}]");
        Assert.Null(r.Content);
        Assert.Equal(["a", "b"], r.ToolCalls.Select(c => c.Name));
        Assert.Equal(1, JsonDocument.Parse(r.ToolCalls[0].Arguments).RootElement.GetProperty("n").GetInt32());
    }

    private static JsonElement Tools() => JsonDocument.Parse(
        "[{\"type\":\"function\",\"function\":{\"name\":\"a\",\"parameters\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}}}," +
        "{\"type\":\"function\",\"function\":{\"name\":\"b\"}}]").RootElement;

    [Fact]
    public void ForRequired_NotParallel_ArrayWithAnyOfPerToolAndMaxOne()
    {
        var s = JsonDocument.Parse(ToolChoiceSchema.ForRequired(Tools(), parallel: false)).RootElement;
        Assert.Equal("array", s.GetProperty("type").GetString());
        Assert.Equal(1, s.GetProperty("minItems").GetInt32());
        Assert.Equal(1, s.GetProperty("maxItems").GetInt32());
        var branches = s.GetProperty("items").GetProperty("anyOf");
        Assert.Equal(2, branches.GetArrayLength());
        Assert.Equal("b", branches[1].GetProperty("properties").GetProperty("name").GetProperty("enum")[0].GetString());
        Assert.Equal("integer", branches[0].GetProperty("properties").GetProperty("parameters").GetProperty("properties").GetProperty("x").GetProperty("type").GetString());
    }

    [Fact]
    public void ForNamed_UnknownName_ReturnsNull()
    {
        Assert.Null(ToolChoiceSchema.ForNamed(Tools(), "zzz"));
        Assert.Contains("\"x\"", ToolChoiceSchema.ForNamed(Tools(), "a"));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("[{\"type\":\"code\",\"function\":{\"name\":\"a\"}}]")]
    [InlineData("[{\"type\":\"function\",\"function\":{}}]")]
    [InlineData("[{\"type\":\"function\",\"function\":{\"name\":\"a\",\"parameters\":3}}]")]
    public void Validate_BadShape_NamesTools(string json)
    {
        Assert.Contains("tools", ToolChoiceSchema.Validate(JsonDocument.Parse(json).RootElement));
        Assert.Null(ToolChoiceSchema.Validate(Tools()));
    }

    [Fact]
    public void Llama3_ArgumentsKeyAndSemicolonInsideAString_BothCallsKeepTheirArguments()
    {
        var r = ToolCallParser.Parse("llama3_json",
            "{\"name\": \"sql\", \"arguments\": {\"q\": \"SELECT 1; SELECT 2\"}}; {\"name\": \"f\", \"parameters\": {\"n\": 1}}");
        Assert.Equal(["sql", "f"], r.ToolCalls.Select(c => c.Name));
        Assert.Equal("SELECT 1; SELECT 2", JsonDocument.Parse(r.ToolCalls[0].Arguments).RootElement.GetProperty("q").GetString());
        Assert.Equal(1, JsonDocument.Parse(r.ToolCalls[1].Arguments).RootElement.GetProperty("n").GetInt32());
    }

    [Fact]
    public void ForRequired_ToolsWithDefs_DefsMovedToTheRoot_ConflictingDefinitionsRefused()
    {
        JsonElement tools = JsonDocument.Parse("""
            [{"type":"function","function":{"name":"a","parameters":{"type":"object","properties":{"p":{"$ref":"#/$defs/Point"}},"$defs":{"Point":{"type":"object","properties":{"x":{"type":"integer"}}}}}}},
             {"type":"function","function":{"name":"b","parameters":{"type":"object","properties":{"q":{"$ref":"#/$defs/Point"}},"$defs":{"Point":{"type":"object","properties":{"x":{"type":"integer"}}}}}}}]
            """).RootElement;
        JsonElement schema = JsonDocument.Parse(ToolChoiceSchema.ForRequired(tools)).RootElement;
        Assert.True(schema.GetProperty("$defs").TryGetProperty("Point", out _));
        foreach (JsonElement branch in schema.GetProperty("items").GetProperty("anyOf").EnumerateArray())
            Assert.False(branch.GetProperty("properties").GetProperty("parameters").TryGetProperty("$defs", out _));

        JsonElement clash = JsonDocument.Parse(tools.GetRawText().Replace("\"x\":{\"type\":\"integer\"}}}}}}}]", "\"x\":{\"type\":\"string\"}}}}}}}]")).RootElement;
        var error = Assert.Throws<VllmSharp.Core.Errors.InvalidRequestException>(() => ToolChoiceSchema.ForRequired(clash));
        Assert.Equal("Tool definition 'Point' has multiple schemas, which is not supported.", error.Message);
    }

    [Fact]
    public void ForNamed_EmptyParameters_AreAnEmptyObjectNotAnyValue()
    {
        JsonElement tools = JsonDocument.Parse("""[{"type":"function","function":{"name":"f","parameters":{}}}]""").RootElement;
        JsonElement schema = JsonDocument.Parse(ToolChoiceSchema.ForNamed(tools, "f")!).RootElement;
        Assert.Equal("object", schema.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("[TOOL_CALLS]get_weather{\"city\": \"Oslo\"}[TOOL_CALLS]get_time{}")]
    [InlineData("[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Oslo\"}[TOOL_CALLS]get_time[ARGS]{}")]
    public void Mistral_V11AndV13Forms_OneTagPerCall(string text)
    {
        var r = ToolCallParser.Parse("mistral", text);
        Assert.Null(r.Content);
        Assert.Equal(["get_weather", "get_time"], r.ToolCalls.Select(c => c.Name));
        Assert.Equal("Oslo", JsonDocument.Parse(r.ToolCalls[0].Arguments).RootElement.GetProperty("city").GetString());
        Assert.Equal("{}", r.ToolCalls[1].Arguments);
    }

    [Theory]
    [InlineData("[TOOL_CALLS]get_weather{\"city\": ")]
    [InlineData("[TOOL_CALLS]{\"city\": 1}")]
    [InlineData("[TOOL_CALLS]f{} trailing words")]
    public void Mistral_V11Malformed_PlainContent(string text)
    {
        var r = ToolCallParser.Parse("mistral", text);
        Assert.Empty(r.ToolCalls);
        Assert.Equal(text, r.Content);
    }
}
