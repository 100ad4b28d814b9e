using System.Text;
using VllmSharp.Engine.Tests.TestSupport;
using VllmSharp.Engine.Tokenization;
using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

/// <summary>Our NFC/NFD tables against Node's ICU (exact string equality).</summary>
public sealed class UnicodeNfcTests
{
    [Fact]
    public void Normalize_VariedText_MatchesNodeIcu()
    {
        List<string> texts = BuildTexts();
        IReadOnlyList<NodeResult> expected = NodeReference.Normalize(texts);
        for (int i = 0; i < texts.Count; i++)
        {
            Assert.True(expected[i].Decoded == UnicodeNfc.Normalize(texts[i]), $"NFC differs for text #{i}: {Escape(texts[i])}");
            Assert.True(expected[i].DecodedWithSpecial == UnicodeNfc.Decompose(texts[i]), $"NFD differs for text #{i}: {Escape(texts[i])}");
        }
    }

    [Fact]
    public void Normalize_AsciiText_ReturnsSameInstance()
    {
        string text = "plain ASCII, nothing to compose";
        Assert.Same(text, UnicodeNfc.Normalize(text));
    }

    private static List<string> BuildTexts()
    {
        var texts = new List<string>
        {
            "cafe\u0301", "re\u0301sume\u0301", "a\u0300a\u0300a\u0300", "Vie\u1EBFt Nam", "Cu\u031B\u0309a Vie\u0323\u0302t",
            "\u212B \u2126 \u212A", "\u0958\u0959 \u0915\u093C", "q\u0307\u0323 q\u0323\u0307", "\u1E0B\u0323 \u1E0D\u0307",
            "\u1100\u1161\u11A8 \u1100\u1161 \uAC00\u11A8 \u1112\u1161\u11AB\u1100\u1173\u11AF", "\u0041\u030A\u0301",
            "o\u0308\u0304 \u01D6 u\u0308\u0301", "\u0F73 \u0F75 \u0F81", "\U0001D15E \U0001D160", "\u0B47\u0B3E \u0DD9\u0DCF",
            "e\u0302\u0323\u0301 a\u0328\u0301", "\u03B1\u0313\u0301\u0345 \u1F84", "\u0344 \u0340\u0341",
        };

        // Every BMP character from U+00C0 to U+2FFF and U+F900 to U+FB4F (compatibility
        // ideographs, Hebrew presentation forms: singletons and exclusions), in chunks. Left out:
        // U+0890-08FF and U+1AB0-1AFF, where marks assigned after our tables' Unicode 15.1
        // (Node 20's ICU is Unicode 17) have combining classes we do not know.
        var all = new StringBuilder();
        for (int cp = 0xC0; cp < 0x3000; cp++)
        {
            bool newerThanTables = cp is (>= 0x890 and <= 0x8FF) or (>= 0x1AB0 and <= 0x1AFF);
            if (!newerThanTables)
            {
                all.Append((char)cp);
            }
        }

        for (int cp = 0xF900; cp < 0xFB50; cp++)
        {
            all.Append((char)cp);
        }

        for (int start = 0; start < all.Length; start += 512)
        {
            texts.Add(all.ToString(start, Math.Min(512, all.Length - start)));
        }

        // Random base + combining-mark sequences (fixed seed) exercise reordering and blocking.
        var random = new Random(1234);
        int[] bases = ['a', 'e', 'o', 'u', 'A', 'E', 'O', 'U', 'n', 'c', 's', 'z', 'y', 0x3B1, 0x3B7, 0x41E, 0x1100, 0xAC00, 0x915];
        int[] marks = [0x300, 0x301, 0x302, 0x303, 0x304, 0x306, 0x307, 0x308, 0x30A, 0x30B, 0x30C, 0x323, 0x327, 0x328, 0x331, 0x345, 0x1161, 0x11A8, 0x93C, 0x5B0];
        for (int t = 0; t < 40; t++)
        {
            var sb = new StringBuilder();
            for (int k = 0; k < 60; k++)
            {
                sb.Append((char)bases[random.Next(bases.Length)]);
                int count = random.Next(4);
                for (int m = 0; m < count; m++)
                {
                    sb.Append((char)marks[random.Next(marks.Length)]);
                }
            }

            texts.Add(sb.ToString());
        }

        return texts;
    }

    private static string Escape(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
