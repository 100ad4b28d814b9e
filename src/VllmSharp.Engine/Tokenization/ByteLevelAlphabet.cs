namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// GPT-2's reversible byte ↔ printable-character mapping used by byte-level BPE: printable
/// Latin-1 bytes map to themselves, the other 68 bytes to U+0100 upwards, so that every token is
/// a visible string (a space becomes 'Ġ', a newline 'Ċ').
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] s_byteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> s_charToByte = BuildCharToByte();

    /// <summary>Maps the UTF-8 bytes of <paramref name="text"/> to the byte-level alphabet.</summary>
    public static string Map(ReadOnlySpan<char> text)
    {
        const int StackLimit = 256;
        int byteCount = System.Text.Encoding.UTF8.GetByteCount(text);
        Span<byte> bytes = byteCount <= StackLimit ? stackalloc byte[StackLimit] : new byte[byteCount];
        Span<char> chars = byteCount <= StackLimit ? stackalloc char[StackLimit] : new char[byteCount];
        System.Text.Encoding.UTF8.GetBytes(text, bytes);
        for (int i = 0; i < byteCount; i++)
        {
            chars[i] = s_byteToChar[bytes[i]];
        }

        return new string(chars[..byteCount]);
    }

    /// <summary>
    /// Bytes of a byte-level token: each character mapped back, or, as Hugging Face's decoder
    /// does, the token's own UTF-8 when any character is outside the alphabet (added tokens).
    /// </summary>
    public static byte[] Unmap(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            if (!s_charToByte.TryGetValue(token[i], out bytes[i]))
            {
                return System.Text.Encoding.UTF8.GetBytes(token);
            }
        }

        return bytes;
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }

    private static Dictionary<char, byte> BuildCharToByte()
    {
        var map = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++)
        {
            map[s_byteToChar[b]] = (byte)b;
        }

        return map;
    }
}
