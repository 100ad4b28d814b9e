using System.Text.Json;
using VllmSharp.Core.Errors;
using VllmSharp.Server.Endpoints.Chat.ToolCalls;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary><c>tools</c> / <c>tool_choice</c> checked as vLLM checks them, with its error messages.</summary>
public class ToolChoiceTests
{
    private static readonly ToolCallOptions Auto = new() { EnableAutoToolChoice = true, Parser = "hermes" };
    private static readonly ToolCallOptions Off = new();

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement;

    private static readonly JsonElement Tools = Json("""[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""");

    private static InvalidRequestException Fails(JsonElement? tools, string? choice, ToolCallOptions options)
        => Assert.Throws<InvalidRequestException>(() => ToolChoice.Resolve(tools, choice is null ? null : Json(choice), null, options));

    [Fact]
    public void NoChoice_ToolsMeanAuto_NoToolsMeanNone()
    {
        Assert.Equal(ToolChoiceMode.Auto, ToolChoice.Resolve(Tools, null, null, Auto).Mode);
        Assert.Equal(ToolChoiceMode.None, ToolChoice.Resolve(null, null, null, Off).Mode);
        Assert.Equal(ToolChoiceMode.None, ToolChoice.Resolve(Json("[]"), null, null, Off).Mode);
    }

    [Theory]
    [InlineData("\"required\"")]
    [InlineData("\"auto\"")]
    public void RequiredOrAuto_OverNoTools_IsAPlainReply(string choice)
        => Assert.Equal(ToolChoiceMode.None, ToolChoice.Resolve(Json("[]"), Json(choice), null, Off).Mode);

    [Fact]
    public void MistralParser_NineCharacterAlphanumericIds()
    {
        ToolChoice required = ToolChoice.Resolve(Tools, Json("\"required\""), null, Off);
        ToolCallExtractor extractor = required.NewExtractor(new ToolCallOptions { EnableAutoToolChoice = true, Parser = "mistral" })!;
        DeltaToolCall call = Assert.Single(extractor.Push("[{\"name\": \"get_weather\", \"parameters\": {}}]", final: true).ToolCalls);
        Assert.Matches("^[A-Za-z0-9]{9}$", call.Id);
    }

    [Fact]
    public void Auto_WithoutTheServeFlags_400WithVllmsMessage()
    {
        Assert.Equal("\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set", Fails(Tools, null, Off).Message);
        Assert.Equal("tool_choice", Fails(Tools, "\"auto\"", Off).Parameter);
        // required and named functions need no parser: the output is constrained instead.
        Assert.Equal(ToolChoiceMode.Required, ToolChoice.Resolve(Tools, Json("\"required\""), null, Off).Mode);
        Assert.Equal(ToolChoiceMode.None, ToolChoice.Resolve(Tools, Json("\"none\""), null, Off).Mode);
    }

    [Fact]
    public void BadChoices_400NamingTheProblem()
    {
        Assert.Equal("When using `tool_choice`, `tools` must be set.", Fails(null, "\"required\"", Auto).Message);
        Assert.Equal("The tool specified in `tool_choice` does not match any of the specified `tools`",
            Fails(Json("[]"), """{"type":"function","function":{"name":"f"}}""", Auto).Message);
        Assert.Contains("Only named tools, \"none\", \"auto\" or \"required\" are supported", Fails(Tools, "\"always\"", Auto).Message);
        Assert.Contains("Correct usage", Fails(Tools, """{"type":"function"}""", Auto).Message);
        Assert.Equal("The tool specified in `tool_choice` does not match any of the specified `tools`",
            Fails(Tools, """{"type":"function","function":{"name":"nope"}}""", Auto).Message);
        InvalidRequestException badTools = Fails(Json("""[{"type":"retrieval"}]"""), null, Auto);
        Assert.Equal("tools", badTools.Parameter);
    }

    [Fact]
    public void Named_ConstrainsToThatFunctionsParameters()
    {
        ToolChoice named = ToolChoice.Resolve(Tools, Json("""{"type":"function","function":{"name":"get_weather"}}"""), null, Off);
        Assert.Equal(ToolChoiceMode.Named, named.Mode);
        Assert.Equal("get_weather", named.FunctionName);
        string schema = named.Constraint()!.Json!;
        Assert.Equal("string", JsonDocument.Parse(schema).RootElement.GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
        Assert.Null(ToolChoice.Resolve(Tools, null, null, Auto).Constraint());
    }

    [Fact]
    public void ParallelFalse_RequiredSchemaTakesOneCall()
    {
        ToolChoice required = ToolChoice.Resolve(Tools, Json("\"required\""), parallelToolCalls: false, Off);
        Assert.Equal(1, JsonDocument.Parse(required.Constraint()!.Json!).RootElement.GetProperty("maxItems").GetInt32());
    }

    [Fact]
    public void FinishReason_AsVllm()
    {
        ToolChoice auto = ToolChoice.Resolve(Tools, null, null, Auto);
        Assert.Equal("tool_calls", auto.FinishReason("stop", calledTools: true));
        Assert.Equal("stop", auto.FinishReason("stop", calledTools: false));
        Assert.Null(auto.FinishReason(null, calledTools: true)); // not finished yet
        ToolChoice required = ToolChoice.Resolve(Tools, Json("\"required\""), null, Off);
        Assert.Equal("tool_calls", required.FinishReason("stop", calledTools: true));
        Assert.Equal("stop", required.FinishReason("stop", calledTools: false)); // e.g. a stop string cut the array
        Assert.Equal("length", required.FinishReason("length", calledTools: true));
        ToolChoice named = ToolChoice.Resolve(Tools, Json("""{"type":"function","function":{"name":"get_weather"}}"""), null, Off);
        Assert.Equal("stop", named.FinishReason("stop", calledTools: true));
    }

    [Fact]
    public void ExcludeToolsWhenNone_TemplateSeesNoTools()
    {
        ToolChoice none = ToolChoice.Resolve(Tools, Json("\"none\""), null, Off);
        Assert.NotNull(none.TemplateTools(Off));
        Assert.Null(none.TemplateTools(Off with { ExcludeToolsWhenToolChoiceNone = true }));
    }

    [Theory]
    [InlineData(true, null, "--tool-call-parser")]
    [InlineData(false, "pythonic", "invalid tool call parser: pythonic")]
    public void Options_Unusable_Throw(bool enable, string? parser, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => new ToolCallOptions { EnableAutoToolChoice = enable, Parser = parser }.Validate());
        Assert.Contains(expected, error.Message);
    }
}
