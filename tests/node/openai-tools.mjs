// Tool calling with the official `openai` npm client against a running VllmSharp server (started with
// --enable-auto-tool-choice --tool-call-parser hermes by the C# test), printing one JSON object with what the
// client saw. The streaming helper (chat.completions.stream) reassembles tool-call deltas itself and checks
// their shape, so it is an independent judge of our SSE format.
// Usage: node openai-tools.mjs <baseURL ending in /v1> <model>
import OpenAI from "openai";

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
const messages = [{ role: "user", content: "Weather in Oslo?" }];
const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      parameters: {
        type: "object",
        properties: { city: { enum: ["Paris", "Oslo"] }, days: { type: "integer", minimum: 1, maximum: 7 } },
        required: ["city", "days"],
        additionalProperties: false,
      },
    },
  },
];
const base = { model, messages, tools, max_tokens: 96, temperature: 1, seed: 3 };
const named = { ...base, tool_choice: { type: "function", function: { name: "get_weather" } } };
const summary = (message, finish) => ({
  content: message.content ?? null,
  finish,
  calls: (message.tool_calls ?? []).map((c) => ({ id: c.id, type: c.type, name: c.function.name, arguments: c.function.arguments })),
});

const whole = await client.chat.completions.create(named);
const stream = client.chat.completions.stream(named);
const streamed = await stream.finalChatCompletion();

// "auto": a regex (vLLM's structured_outputs, passed through as an extra body field) makes the model write a
// hermes tool-call block; the server's parser must turn it into a call.
const reply = 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}\n</tool_call>';
const regex = reply.replaceAll(".", "\\.").replaceAll("{", "\\{").replaceAll("}", "\\}");
const auto = await client.chat.completions.create({ ...base, structured_outputs: { regex } });
const autoStream = await client.chat.completions.stream({ ...base, structured_outputs: { regex } }).finalChatCompletion();

let badStatus = null;
try {
  await client.chat.completions.create({ ...base, tool_choice: { type: "function", function: { name: "nope" } } });
} catch (e) {
  badStatus = { status: e.status, param: e.param ?? e.error?.param ?? null };
}

console.log(JSON.stringify({
  named: summary(whole.choices[0].message, whole.choices[0].finish_reason),
  namedStream: summary(streamed.choices[0].message, streamed.choices[0].finish_reason),
  auto: summary(auto.choices[0].message, auto.choices[0].finish_reason),
  autoStream: summary(autoStream.choices[0].message, autoStream.choices[0].finish_reason),
  bad: badStatus,
}));
