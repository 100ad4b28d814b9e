namespace VllmSharp.Engine.Tests.Tokenization;

/// <summary>Varied texts every tokenizer is checked on against the Node reference.</summary>
public static class ReferenceTexts
{
    /// <summary>Texts without special-token markup (GPT-2's reference does not parse those).</summary>
    public static readonly string[] Plain =
    [
        "",
        "Hello world",
        " Hello world",
        "  leading spaces and trailing   ",
        "The quick brown fox jumps over the lazy dog.",
        "I'm sure they'll say we've done it, isn't it? She'd LOVE it; THEY'RE here.",
        "你好，世界！今天天气很好，我们去公园散步吧。",
        "日本語のテキストとカタカナ、ひらがなを混ぜます。",
        "한국어 문장도 있습니다.",
        "Emoji: 😀 🦙 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ done",
        "def foo(x):\n\tif x > 0:\n\t\treturn x * 2\n    else:\n        return -x\n",
        "    indented\n\n\n  \t mixed\t\twhitespace   \n\n",
        "Numbers: 1 12 123 1234 12345 1234567890 3.14159 1,000,000 2024-01-02",
        "Accents: café naïve résumé Ångström Cửa Việt",
        "Combining: cafe\u0301 re\u0301sume\u0301 a\u0300a\u0300a\u0300",
        "Symbols & punctuation!!! ... ??? --- *** ((nested)) [brackets] {braces} <tags>",
        "\n",
        " ",
        "\t",
        "line one\r\nline two\rline three",
        "Astral letters and digits: 𝐇𝐞𝐥𝐥𝐨 𝟏𝟐𝟑𝟒𝟓 𠜎𠜱𡃁 x𝐚y 7𝟖9 🦙𝐀",
        "Whitespace kinds:\u00A0nbsp\u2003em\u3000ideographic\u2028line\u0085nel\u000Bvt\u000Cff end",
        // Long pre-tokens: equal-rank merges must resolve leftmost-first, and Gemma does not split on spaces.
        new string('a', 301) + " " + string.Concat(Enumerable.Repeat("数据科学与机器学习", 120)) + " " + string.Concat(Enumerable.Repeat("ab", 150)),
        "Mixed: English, 中文, русский, العربية, हिन्दी, ελληνικά and emoji 🎉 in one paragraph. "
            + "It has numbers like 42 and 3.14, code `x = y + 1;`, quotes \"like this\" and 'that', "
            + "and a long tail of words to make the pre-tokenizer and the BPE cache work a little harder than usual.",
    ];

    /// <summary>Texts with special-token markup, recognised by the HF tokenizers.</summary>
    public static readonly string[] WithSpecialTokens =
    [
        "<|im_start|>user\nhi<|im_end|>",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nOK",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
        "<bos><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n",
        "text<|endoftext|>more text",
    ];

    public static string[] All => [.. Plain, .. WithSpecialTokens];
}
