using System.Text.Json.Nodes;

namespace VllmSharp.Engine.Tests.ChatTemplates;

/// <summary>
/// The render contexts every fixture template is checked with: typical OpenAI-style chats as a
/// server passes them to a template (messages, add_generation_prompt, tools, kwargs).
/// </summary>
public static class ChatTemplateConversations
{
    private const string Tools = """
        [{"type":"function","function":{"name":"get_weather","description":"Get the current weather in a city.",
          "parameters":{"type":"object","properties":{"city":{"type":"string","description":"City name, e.g. Paris"},
          "unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}}]
        """;

    /// <summary>(name, context) pairs; each context is a fresh JSON object.</summary>
    public static IReadOnlyList<(string Name, JsonObject Context)> All()
    {
        var list = new List<(string, JsonObject)>
        {
            ("system+user+gen", Context("""[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello! What's 2+2?"}]""", true)),
            ("user-only", Context("""[{"role":"user","content":"Héllo — ünïcödé 🚀 \"quotes\" \\ back\nslash"}]""", false)),
            ("multi-turn", Context("""[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello! How can I help?"},{"role":"user","content":"  Tell me a joke.  "}]""", false)),
            ("multi-turn+gen", Context("""[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},{"role":"user","content":"Bye"}]""", true)),
        };
        JsonObject tools = Context("""
            [{"role":"system","content":"You can call tools."},{"role":"user","content":"Weather in Paris?"},
             {"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris","unit":"celsius"}}}]},
             {"role":"tool","tool_call_id":"call_1","name":"get_weather","content":"{\"temperature\": 21.5, \"sky\": \"clear\"}"},
             {"role":"assistant","content":"It is 21.5 °C and clear in Paris."},{"role":"user","content":"Thanks"}]
            """, true);
        tools["tools"] = JsonNode.Parse(Tools);
        list.Add(("tools", tools));
        JsonObject thinking = Context("""[{"role":"user","content":"Think about 3*7."},{"role":"assistant","content":"<think>\n3*7=21\n</think>\n\n21"},{"role":"user","content":"And 4*5?"}]""", true);
        thinking["enable_thinking"] = false;
        list.Add(("enable_thinking=false", thinking));
        // OpenAI clients send tool-call arguments as a JSON string; two parallel calls.
        JsonObject stringArgs = Context("""
            [{"role":"user","content":"Weather in Paris and Rome?"},
             {"role":"assistant","content":null,"tool_calls":[{"id":"abcDEF123","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},
                                                           {"id":"xyzXYZ789","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Rome\"}"}}]},
             {"role":"tool","tool_call_id":"abcDEF123","content":"sunny"},{"role":"tool","tool_call_id":"xyzXYZ789","content":"rain"}]
            """, true);
        stringArgs["tools"] = JsonNode.Parse(Tools);
        list.Add(("tools-string-arguments", stringArgs));
        JsonObject reasoning = Context("""[{"role":"user","content":"1+1?"},{"role":"assistant","content":"2","reasoning_content":"Add one and one."},{"role":"user","content":"2+2?"}]""", true);
        reasoning["enable_thinking"] = true;
        list.Add(("reasoning_content+enable_thinking", reasoning));
        return list;
    }

    private static JsonObject Context(string messages, bool addGenerationPrompt) => new()
    {
        ["messages"] = JsonNode.Parse(messages),
        ["add_generation_prompt"] = addGenerationPrompt,
        ["bos_token"] = "<s>",
        ["eos_token"] = "</s>",
        // Templates that print today's date read date_string first; pin it so nothing depends on the clock.
        ["date_string"] = "26 Jul 2024",
    };
}
