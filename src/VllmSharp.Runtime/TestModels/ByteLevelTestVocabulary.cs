using System.Text;
using VllmSharp.Runtime.Loading.Gguf;

namespace VllmSharp.Runtime.TestModels;

/// <summary>
/// A small real byte-level BPE vocabulary for test models whose vocabulary is too small for a real tokenizer:
/// ids 0–255 are the 256 bytes in GPT-2's byte-to-character alphabet (so any text encodes, one token per byte),
/// then the ChatML control tokens &lt;|endoftext|&gt;, &lt;|im_start|&gt;, &lt;|im_end|&gt;, and no merges.
/// Stored as llama.cpp's "gpt2" model with the "qwen2" pre-tokenizer and a ChatML chat template.
/// </summary>
public static class ByteLevelTestVocabulary
{
    public const int EndOfText = 256;
    public const int ImStart = 257;
    public const int ImEnd = 258;
    public const int Count = 259;

    public const string ChatMlTemplate =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    public static GgufVocabulary Create()
    {
        var tokens = new string[Count];
        var types = new int[Count];
        for (int b = 0; b < 256; b++)
        {
            tokens[b] = ByteChar(b).ToString();
            types[b] = GgufVocabulary.Normal;
        }
        tokens[EndOfText] = "<|endoftext|>";
        tokens[ImStart] = "<|im_start|>";
        tokens[ImEnd] = "<|im_end|>";
        types[EndOfText] = types[ImStart] = types[ImEnd] = GgufVocabulary.Control;
        return new GgufVocabulary
        {
            Model = "gpt2",
            Pre = "qwen2",
            Tokens = tokens,
            TokenTypes = types,
            Merges = [],
            BosTokenId = EndOfText,
            EosTokenId = ImEnd,
            EotTokenId = EndOfText,
            PaddingTokenId = EndOfText,
            AddBosToken = false,
            ChatTemplate = ChatMlTemplate,
        };
    }

    /// <summary>
    /// GPT-2's bytes_to_unicode: printable Latin-1 bytes (33–126, 161–172, 174–255) stand for themselves, the
    /// other 68 take the characters from U+0100 on, in byte order.
    /// </summary>
    public static char ByteChar(int b)
    {
        static bool Printable(int x) => x is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
        if (Printable(b)) return (char)b;
        int n = 0;
        for (int x = 0; x < b; x++)
            if (!Printable(x)) n++;
        return (char)(256 + n);
    }

    /// <summary>The token ids of <paramref name="text"/> (its UTF-8 bytes), for tests.</summary>
    public static int[] Encode(string text) => Array.ConvertAll(Encoding.UTF8.GetBytes(text), b => (int)b);
}
