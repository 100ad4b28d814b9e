// Reference renderer for VllmSharp's chat-template tests: @huggingface/jinja (the Jinja
// implementation transformers.js uses). Reads one JSON object {template, context} per stdin
// line and writes one JSON line per input: {"ok":true,"output":...} or {"ok":false,"error":...}.
// Templates are parsed once per distinct source.
import { Template } from "@huggingface/jinja";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const lines = Buffer.concat(chunks).toString("utf8").split("\n").filter((l) => l.length > 0);
const parsed = new Map();
const out = [];
for (const line of lines) {
  const { template, context } = JSON.parse(line);
  try {
    let t = parsed.get(template);
    if (t === undefined) {
      try {
        t = new Template(template);
      } catch (e) {
        t = e;
      }
      parsed.set(template, t);
    }
    if (t instanceof Error) throw t;
    out.push(JSON.stringify({ ok: true, output: t.render(context) }));
  } catch (e) {
    out.push(JSON.stringify({ ok: false, error: String(e && e.message !== undefined ? e.message : e) }));
  }
}
process.stdout.write(out.join("\n") + "\n");
