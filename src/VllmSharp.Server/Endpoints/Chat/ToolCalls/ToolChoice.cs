using System.Text.Json;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Sampling;

namespace VllmSharp.Server.Endpoints.Chat.ToolCalls;

public enum ToolChoiceMode { None, Auto, Required, Named }

/// <summary>
/// A request's <c>tools</c> and <c>tool_choice</c>, checked as vLLM checks them, and what follows for generation:
/// "required" and a named function constrain the output with a JSON schema (<see cref="ToolChoiceSchema"/>), "auto"
/// parses calls out of free text with the server's <c>--tool-call-parser</c>, "none" leaves the text alone.
/// Without <c>tool_choice</c>, tools mean "auto", as in OpenAI's API and vLLM.
/// </summary>
public sealed record ToolChoice(ToolChoiceMode Mode, JsonElement? Tools, string? FunctionName, bool Parallel)
{
    private const string NamedUsage = "Correct usage: `{\"type\": \"function\", \"function\": {\"name\": \"my_function\"}}`";

    public static ToolChoice Resolve(JsonElement? tools, JsonElement? toolChoice, bool? parallelToolCalls, ToolCallOptions options)
    {
        bool hasTools = tools is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) };
        if (hasTools && ToolChoiceSchema.Validate(tools!.Value) is { } problem) throw new InvalidRequestException(problem, "tools");
        bool parallel = parallelToolCalls ?? true;
        JsonElement? givenTools = hasTools ? tools : null;
        bool choiceGiven = toolChoice is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) };
        if (!choiceGiven)
            return hasTools && tools!.Value.GetArrayLength() > 0 ? Auto(givenTools, parallel, options) : new(ToolChoiceMode.None, givenTools, null, parallel);

        JsonElement choice = toolChoice!.Value;
        if (choice.ValueKind == JsonValueKind.String && choice.GetString() == "none") return new(ToolChoiceMode.None, givenTools, null, parallel);
        if (!hasTools) throw new InvalidRequestException("When using `tool_choice`, `tools` must be set.", "tool_choice");
        // As vLLM (following OpenAI): "auto" or "required" over an empty tool list is a plain reply.
        bool noTools = tools!.Value.GetArrayLength() == 0;
        if (choice.ValueKind == JsonValueKind.String)
            return choice.GetString() switch
            {
                "auto" or "required" when noTools => new(ToolChoiceMode.None, givenTools, null, parallel),
                "auto" => Auto(givenTools, parallel, options),
                "required" => new(ToolChoiceMode.Required, givenTools, null, parallel),
                var other => throw new InvalidRequestException(
                    $"Invalid value for `tool_choice`: {other}! Only named tools, \"none\", \"auto\" or \"required\" are supported.", "tool_choice"),
            };
        if (choice.ValueKind != JsonValueKind.Object
            || !choice.TryGetProperty("function", out JsonElement function) || function.ValueKind != JsonValueKind.Object
            || !function.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String)
            throw new InvalidRequestException($"Invalid value for `tool_choice`: {choice.GetRawText()}! {NamedUsage}", "tool_choice");
        if (ToolChoiceSchema.ForNamed(tools.Value, name.GetString()!) is null)
            throw new InvalidRequestException("The tool specified in `tool_choice` does not match any of the specified `tools`", "tool_choice");
        return new(ToolChoiceMode.Named, givenTools, name.GetString(), parallel);
    }

    private static ToolChoice Auto(JsonElement? tools, bool parallel, ToolCallOptions options)
        => options.AutoEnabled
            ? new(ToolChoiceMode.Auto, tools, null, parallel)
            : throw new InvalidRequestException("\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set", "tool_choice");

    /// <summary>The tools the chat template sees (none with <c>--exclude-tools-when-tool-choice-none</c> and "none").</summary>
    public JsonElement? TemplateTools(ToolCallOptions options)
        => Mode == ToolChoiceMode.None && options.ExcludeToolsWhenToolChoiceNone ? null : Tools;

    /// <summary>The output constraint "required" and named functions need; null for "auto" and "none".</summary>
    public StructuredOutputsParams? Constraint() => Mode switch
    {
        ToolChoiceMode.Required => StructuredOutputsParams.ForJson(ToolChoiceSchema.ForRequired(Tools!.Value, Parallel)),
        ToolChoiceMode.Named => StructuredOutputsParams.ForJson(ToolChoiceSchema.ForNamed(Tools!.Value, FunctionName!)!),
        _ => null,
    };

    /// <summary>A fresh extractor for one choice, or null when the text is plain content ("none").</summary>
    public ToolCallExtractor? NewExtractor(ToolCallOptions options)
    {
        // Mistral's chat templates accept only 9-character alphanumeric call ids when the calls come back.
        bool mistralIds = options.Parser == "mistral";
        return Mode switch
        {
            ToolChoiceMode.Auto => new AutoToolCallExtractor(options.Parser!) { Parallel = Parallel, MistralIds = mistralIds },
            ToolChoiceMode.Required => new RequiredToolCallExtractor { Parallel = Parallel, MistralIds = mistralIds },
            ToolChoiceMode.Named => new NamedToolCallExtractor(FunctionName!) { MistralIds = mistralIds },
            _ => null,
        };
    }

    /// <summary>
    /// vLLM's finish_reason: "tool_calls" when "auto" found calls, or when "required" ended normally with calls; a
    /// named function keeps the engine's reason.
    /// </summary>
    public string? FinishReason(string? engineReason, bool calledTools) => Mode switch
    {
        ToolChoiceMode.Auto when calledTools && engineReason is not null => "tool_calls",
        ToolChoiceMode.Required when calledTools && engineReason == "stop" => "tool_calls",
        _ => engineReason,
    };
}
