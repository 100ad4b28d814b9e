using System.Buffers;
using System.Text;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// Decoding shared by the tokenizers that keep each token's bytes: concatenate the bytes of the kept ids (special
/// tokens dropped on request), strip up to <c>stripLeadingSpaces</c> leading spaces (SentencePiece's "Strip"),
/// then UTF-8 decode once, so characters split across tokens come out whole.
/// </summary>
internal static class TokenBytesDecoder
{
    public static string Decode(byte[][] tokenBytes, bool[] special, ReadOnlySpan<int> ids, bool skipSpecialTokens, int stripLeadingSpaces)
    {
        int length = 0;
        foreach (int id in ids)
            if (Keeps(special, id, skipSpecialTokens)) length += tokenBytes[id].Length;

        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            int written = 0;
            foreach (int id in ids)
            {
                if (!Keeps(special, id, skipSpecialTokens)) continue;
                tokenBytes[id].CopyTo(buffer.AsSpan(written));
                written += tokenBytes[id].Length;
            }
            int start = 0;
            while (start < stripLeadingSpaces && start < written && buffer[start] == (byte)' ') start++;
            return Encoding.UTF8.GetString(buffer, start, written - start);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Ids outside the vocabulary are dropped; special ids too when asked.</summary>
    private static bool Keeps(bool[] special, int id, bool skipSpecialTokens)
        => (uint)id < (uint)special.Length && !(skipSpecialTokens && special[id]);
}
