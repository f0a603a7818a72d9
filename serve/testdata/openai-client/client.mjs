// The official openai npm client against a running alignlab serve: models,
// chat, streaming chat, completions with echo + logprobs, and the error
// classes the client raises. Prints one JSON object for the Go test
// (serve's TestOpenAINodeClient) to check.
//
// usage: node client.mjs BASE_URL API_KEY MODEL
import OpenAI from "openai";

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });
const messages = [
  { role: "system", content: "You answer briefly." },
  { role: "user", content: "what is two plus two?" },
];
const out = {};

const models = await client.models.list();
out.models = models.data.map((m) => m.id);

const chat = await client.chat.completions.create({
  model, messages, max_tokens: 8, temperature: 0, seed: 1, logprobs: true, top_logprobs: 2,
});
out.chat = {
  content: chat.choices[0].message.content,
  role: chat.choices[0].message.role,
  finish: chat.choices[0].finish_reason,
  usage: chat.usage,
  logprobs: chat.choices[0].logprobs.content.map((e) => e.logprob),
  top: chat.choices[0].logprobs.content.map((e) => e.top_logprobs.length),
};

const stream = await client.chat.completions.create({
  model, messages, max_tokens: 8, temperature: 0, seed: 1, stream: true,
  stream_options: { include_usage: true },
});
let text = "";
let finish = null;
let usage = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) {
    text += c.delta?.content ?? "";
    if (c.finish_reason) finish = c.finish_reason;
  }
}
out.stream = { content: text, finish, usage };

const comp = await client.completions.create({
  model, prompt: "hello there, how are you", echo: true, logprobs: 1, max_tokens: 0,
});
out.completion = {
  text: comp.choices[0].text,
  finish: comp.choices[0].finish_reason,
  token_logprobs: comp.choices[0].logprobs.token_logprobs,
  text_offset: comp.choices[0].logprobs.text_offset,
};

try {
  await new OpenAI({ baseURL, apiKey: "wrong-key", maxRetries: 0 }).models.list();
  out.auth_error = "none";
} catch (e) {
  out.auth_error = `${e.constructor.name}:${e.status}`;
}
try {
  await client.chat.completions.create({ model, messages, n: 1000 });
  out.bad_request = "none";
} catch (e) {
  out.bad_request = `${e.constructor.name}:${e.status}:${e.param}`;
}

console.log(JSON.stringify(out));
