using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// The chat-template request fields (add_generation_prompt, continue_final_message, chat_template_kwargs, tools) on
/// the real Qwen3 template of the fixture model. The rendered prompt is read back through vLLM's chat form of
/// /tokenize and /detokenize, and compared with the text the template must produce, written out by hand from it.
/// </summary>
public sealed class ChatTemplateRequestTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string UserHi = """[{"role":"user","content":"Hi"}]""";
    private const string Continued = """[{"role":"user","content":"Hi"},{"role":"assistant","content":"The answer is"}]""";
    private const string Tools = """[{"type":"function","function":{"name":"get_weather","description":"Weather by city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddGenerationPrompt_DefaultTrue_EndsWithTheAssistantHeader()
    {
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", await RenderAsync(B(UserHi)));
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n", await RenderAsync(B(UserHi, ""","add_generation_prompt":false""")));
    }

    [Fact]
    public async Task ContinueFinalMessage_EndsWithTheAssistantContent_NoEndOfTurn()
    {
        // Qwen3 writes an empty think block before the final assistant turn; continued, the turn stays open.
        const string turn = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nThe answer is";
        Assert.Equal(turn, await RenderAsync(B(Continued, ""","add_generation_prompt":false,"continue_final_message":true""")));
        Assert.Equal(turn + "<|im_end|>\n", await RenderAsync(B(Continued, ""","add_generation_prompt":false""")));

        // The chat endpoint generates from that very prompt.
        int promptTokens = await CountAsync(B(Continued, ""","add_generation_prompt":false,"continue_final_message":true"""));
        JsonNode chat = await PostOkAsync("/v1/chat/completions",
            B(Continued, ""","add_generation_prompt":false,"continue_final_message":true,"max_tokens":2,"ignore_eos":true"""));
        Assert.Equal(promptTokens, (int)chat["usage"]!["prompt_tokens"]!);
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/tokenize")]
    public async Task ContinueFinalMessage_WithAddGenerationPrompt_400(string path)
    {
        using var response = await PostAsync(path, B(Continued, ""","add_generation_prompt":true,"continue_final_message":true"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("continue_final_message", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["error"]!["param"]);
    }

    [Fact]
    public async Task ChatTemplateKwargs_EnableThinkingFalse_AddsTheEmptyThinkBlock()
    {
        const string header = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
        Assert.Equal(header + "<think>\n\n</think>\n\n", await RenderAsync(B(UserHi, ""","chat_template_kwargs":{"enable_thinking":false}""")));
        Assert.Equal(header, await RenderAsync(B(UserHi, ""","chat_template_kwargs":{"enable_thinking":true}""")));

        int promptTokens = await CountAsync(B(UserHi, ""","chat_template_kwargs":{"enable_thinking":false}"""));
        JsonNode chat = await PostOkAsync("/v1/chat/completions",
            B(UserHi, ""","chat_template_kwargs":{"enable_thinking":false},"max_tokens":2,"ignore_eos":true"""));
        Assert.Equal(promptTokens, (int)chat["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task Tools_PassedToTheTemplate_AsItsToolsSystemBlock()
    {
        string rendered = await RenderAsync(B(UserHi, ",\"tools\":" + Tools));
        // The template writes each tool with tojson (Python json.dumps spacing) inside <tools></tools>.
        Assert.StartsWith("<|im_start|>system\n# Tools\n\nYou may call one or more functions", rendered);
        Assert.Contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather by city\", "
            + "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}}\n</tools>", rendered);
        Assert.EndsWith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", rendered);

        int promptTokens = await CountAsync(B(UserHi, ",\"tools\":" + Tools));
        JsonNode chat = await PostOkAsync("/v1/chat/completions", B(UserHi, ",\"tools\":" + Tools + ",\"max_tokens\":2,\"ignore_eos\":true"));
        Assert.Equal(promptTokens, (int)chat["usage"]!["prompt_tokens"]!);
    }

    /// <summary>A request body: the messages, then further fields (each starting with a comma).</summary>
    private static string B(string messages, string more = "") => "{\"messages\":" + messages + more + "}";

    private async Task<string> RenderAsync(string tokenizeBody)
    {
        JsonNode tokens = (await PostOkAsync("/tokenize", tokenizeBody))["tokens"]!;
        JsonNode text = await PostOkAsync("/detokenize", new JsonObject { ["tokens"] = tokens.DeepClone() }.ToJsonString());
        return (string)text["prompt"]!;
    }

    private async Task<int> CountAsync(string tokenizeBody) => (int)(await PostOkAsync("/tokenize", tokenizeBody))["count"]!;

    private async Task<JsonNode> PostOkAsync(string path, string json)
    {
        using var response = await PostAsync(path, json);
        string text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json)
        => server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), Ct);
}
