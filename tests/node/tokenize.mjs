// Independent tokenizer reference for VllmSharp tests.
// stdin: {"tokenizerDir": "...", "texts": ["..."], "addSpecialTokens": true, "kind": "hf" | "gpt3-encoder" | "nfc"}
// stdout: {"results": [{"ids": [..], "decoded": "...", "decodedWithSpecial": "..."}]}
// kind "hf" (default) loads tokenizer.json + tokenizer_config.json with @lenml/tokenizers
// (a port of transformers.js); kind "gpt3-encoder" uses gpt-3-encoder, an independent GPT-2 BPE;
// kind "nfc" returns each text's NFC form as "decoded" and NFD form as "decodedWithSpecial".
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const request = JSON.parse(readFileSync(0, "utf8"));
const texts = request.texts ?? [];
const addSpecialTokens = request.addSpecialTokens ?? true;
const results = [];

if (request.kind === "nfc") {
  // Unicode NFC by Node's ICU, the reference for our own NFC tables.
  for (const text of texts) {
    results.push({ ids: [], decoded: text.normalize("NFC"), decodedWithSpecial: text.normalize("NFD") });
  }
} else if (request.kind === "gpt3-encoder") {
  const { encode, decode } = require("gpt-3-encoder");
  for (const text of texts) {
    const ids = encode(text);
    const decoded = decode(ids);
    results.push({ ids, decoded, decodedWithSpecial: decoded });
  }
} else {
  const { TokenizerLoader } = await import("@lenml/tokenizers");
  const readJson = (name) => JSON.parse(readFileSync(join(request.tokenizerDir, name), "utf8"));
  const tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: readJson("tokenizer.json"),
    tokenizerConfig: readJson("tokenizer_config.json"),
  });
  // No clean-up of spaces around punctuation: vLLM's detokenizer does not apply it either.
  const decodeOptions = (skip) => ({ skip_special_tokens: skip, clean_up_tokenization_spaces: false });
  for (const text of texts) {
    const ids = Array.from(tokenizer.encode(text, { add_special_tokens: addSpecialTokens }));
    results.push({
      ids,
      // The library rejects an empty id list; the empty decoding is "".
      decoded: ids.length === 0 ? "" : tokenizer.decode(ids, decodeOptions(true)),
      decodedWithSpecial: ids.length === 0 ? "" : tokenizer.decode(ids, decodeOptions(false)),
    });
  }
}
process.stdout.write(JSON.stringify({ results }));
