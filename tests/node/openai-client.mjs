// Drives a running VllmSharp server with the official `openai` npm client and prints one JSON
// object with what the client returned, so a C# test can check the shapes an independent,
// widely used client sees (SSE parsing, error surfacing, field names).
// Usage: node openai-client.mjs <baseURL ending in /v1> <model>
import OpenAI from "openai";

const [baseURL, model] = process.argv.slice(2);
if (!baseURL || !model) {
  console.error("usage: node openai-client.mjs <baseURL> <model>");
  process.exit(2);
}

// maxRetries 0: a retry would hide a failing first attempt from the test.
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
const messages = [{ role: "user", content: "Count to three" }];
const greedy = { temperature: 0, max_tokens: 8, ignore_eos: true };

const models = await client.models.list();
const modelIds = [];
for await (const m of models) modelIds.push(m.id);

const chat = await client.chat.completions.create({ model, messages, ...greedy });

let chatStreamText = "";
let chatStreamRoles = [];
let chatStreamFinish = null;
let chatStreamChunks = 0;
let chatStreamUsage = null;
const chatStream = await client.chat.completions.create({
  model, messages, ...greedy, stream: true, stream_options: { include_usage: true },
});
for await (const chunk of chatStream) {
  chatStreamChunks++;
  if (chunk.usage) chatStreamUsage = chunk.usage;
  for (const choice of chunk.choices) {
    if (choice.delta?.role) chatStreamRoles.push(choice.delta.role);
    if (choice.delta?.content) chatStreamText += choice.delta.content;
    if (choice.finish_reason) chatStreamFinish = choice.finish_reason;
  }
}

// Seeded sampling is also reproducible and, unlike greedy decoding of a tiny random model (which
// tends to repeat one token), yields varied text with multi-byte characters split across tokens.
const seeded = { temperature: 1, seed: 1234, max_tokens: 16, ignore_eos: true };
const sampled = await client.chat.completions.create({ model, messages, ...seeded });
let sampledStreamText = "";
for await (const chunk of await client.chat.completions.create({ model, messages, ...seeded, stream: true })) {
  for (const choice of chunk.choices) sampledStreamText += choice.delta?.content ?? "";
}

const completion = await client.completions.create({ model, prompt: "Once upon a time", ...greedy });

let completionStreamText = "";
let completionStreamFinish = null;
const completionStream = await client.completions.create({ model, prompt: "Once upon a time", ...greedy, stream: true });
for await (const chunk of completionStream) {
  for (const choice of chunk.choices) {
    completionStreamText += choice.text ?? "";
    if (choice.finish_reason) completionStreamFinish = choice.finish_reason;
  }
}

// The client must surface server errors as its typed APIError with the HTTP status.
let notFound = null;
try {
  await client.chat.completions.create({ model: "no-such-model", messages });
} catch (e) {
  notFound = { status: e.status ?? null, isApiError: e instanceof OpenAI.APIError, type: e.type ?? null, param: e.param ?? null };
}

console.log(JSON.stringify({
  modelIds,
  chat: {
    id: chat.id, object: chat.object, model: chat.model, created: chat.created,
    role: chat.choices[0].message.role, content: chat.choices[0].message.content,
    finish: chat.choices[0].finish_reason, usage: chat.usage,
  },
  chatStream: { text: chatStreamText, roles: chatStreamRoles, finish: chatStreamFinish, chunks: chatStreamChunks, usage: chatStreamUsage },
  sampled: { text: sampled.choices[0].message.content, streamText: sampledStreamText },
  completion: {
    id: completion.id, object: completion.object, model: completion.model,
    text: completion.choices[0].text, finish: completion.choices[0].finish_reason, usage: completion.usage,
  },
  completionStream: { text: completionStreamText, finish: completionStreamFinish },
  notFound,
}));
