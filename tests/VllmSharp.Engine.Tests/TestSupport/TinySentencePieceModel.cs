using System.Text.Json;

namespace VllmSharp.Engine.Tests.TestSupport;

/// <summary>
/// Writes a hand-made Llama-2 style (SentencePiece BPE) tokenizer folder whose encodings are
/// easy to work out by hand: "Hello" → "▁Hello" (id 268) through five merges; unknown
/// characters fall back to byte tokens &lt;0xNN&gt; = 3 + byte.
/// </summary>
public static class TinySentencePieceModel
{
    public const int Unk = 0, Bos = 1, Eos = 2, Space = 259, Hello = 268;

    /// <summary>A non-special added token with lstrip (swallows the whitespace before it), outside the BPE vocabulary.</summary>
    public const int Mask = 269;

    public static int ByteToken(byte b) => 3 + b;

    /// <param name="metaspace">
    /// true: Metaspace pre-tokenizer + Metaspace/ByteFallback/Fuse decoder; false: Prepend/Replace
    /// normalizer + Replace/ByteFallback/Fuse/Strip decoder (Llama 2's original file).
    /// </param>
    public static string Create(bool metaspace, object? tokenizerConfig = null, object? generationConfig = null)
    {
        var vocab = new Dictionary<string, int> { ["<unk>"] = Unk, ["<s>"] = Bos, ["</s>"] = Eos };
        for (int b = 0; b < 256; b++)
        {
            vocab[$"<0x{b:X2}>"] = ByteToken((byte)b);
        }

        string[] pieces = ["▁", "H", "e", "l", "o", "ll", "▁H", "▁He", "llo", "▁Hello"];
        for (int i = 0; i < pieces.Length; i++)
        {
            vocab[pieces[i]] = Space + i;
        }

        object model = new Dictionary<string, object?>
        {
            ["type"] = "BPE",
            ["unk_token"] = "<unk>",
            ["fuse_unk"] = true,
            ["byte_fallback"] = true,
            ["vocab"] = vocab,
            ["merges"] = new[] { "l l", "▁ H", "▁H e", "ll o", "▁He llo" },
        };
        object[] added =
        [
            new { id = Unk, content = "<unk>", single_word = false, lstrip = false, rstrip = false, normalized = false, special = true },
            new { id = Bos, content = "<s>", single_word = false, lstrip = false, rstrip = false, normalized = false, special = true },
            new { id = Eos, content = "</s>", single_word = false, lstrip = false, rstrip = false, normalized = false, special = true },
            new { id = Mask, content = "<mask>", single_word = false, lstrip = true, rstrip = false, normalized = false, special = false },
        ];
        object postProcessor = new
        {
            type = "TemplateProcessing",
            single = new object[] { new { SpecialToken = new { id = "<s>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } } },
            special_tokens = new Dictionary<string, object> { ["<s>"] = new { id = "<s>", ids = new[] { Bos }, tokens = new[] { "<s>" } } },
        };
        object? normalizer = metaspace ? null : new
        {
            type = "Sequence",
            normalizers = new object[]
            {
                new { type = "Prepend", prepend = "▁" },
                new { type = "Replace", pattern = new { String = " " }, content = "▁" },
            },
        };
        object? preTokenizer = metaspace ? new { type = "Metaspace", replacement = "▁", prepend_scheme = "first", split = false } : null;
        object decoder = metaspace
            ? new
            {
                type = "Sequence",
                decoders = new object[]
                {
                    new { type = "Metaspace", replacement = "▁", prepend_scheme = "first", split = false },
                    new { type = "ByteFallback" },
                    new { type = "Fuse" },
                },
            }
            : new
            {
                type = "Sequence",
                decoders = new object[]
                {
                    new { type = "Replace", pattern = new { String = "▁" }, content = " " },
                    new { type = "ByteFallback" },
                    new { type = "Fuse" },
                    new { type = "Strip", content = " ", start = 1, stop = 0 },
                },
            };
        var json = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = normalizer,
            ["pre_tokenizer"] = preTokenizer,
            ["post_processor"] = postProcessor,
            ["decoder"] = decoder,
            ["model"] = model,
        };

        string dir = Directory.CreateTempSubdirectory("vllmsharp-tinysp-").FullName;
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), JsonSerializer.Serialize(json));
        if (tokenizerConfig is not null)
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), JsonSerializer.Serialize(tokenizerConfig));
        }

        if (generationConfig is not null)
        {
            File.WriteAllText(Path.Combine(dir, "generation_config.json"), JsonSerializer.Serialize(generationConfig));
        }

        return dir;
    }
}
