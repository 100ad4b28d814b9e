using System.Text;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// Streams text as tokens arrive (vLLM's incremental detokenization): each <see cref="Add"/>
/// returns only the new text. Works on token bytes, so a character split over several byte
/// tokens (emoji, CJK under byte fallback) is held back until complete and never appears as
/// U+FFFD; cost per token is O(token bytes), with no re-decoding of the sequence. The
/// concatenated deltas plus <see cref="Flush"/> equal <c>Decode(all ids, skipSpecialTokens)</c>.
/// Not thread-safe: one instance per request.
/// </summary>
public sealed class IncrementalDetokenizer
{
    private readonly ITokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private byte[] _pending = new byte[16];
    private int _pendingLength;
    private int _stripRemaining;

    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="skipSpecialTokens">Leave special tokens out of the text, as Decode does.</param>
    /// <param name="promptTokenIds">
    /// The prompt, so the first generated token is decoded in context: once the prompt produced
    /// text, a SentencePiece leading space (e.g. "▁Hello") is kept as a real space.
    /// </param>
    public IncrementalDetokenizer(ITokenizer tokenizer, bool skipSpecialTokens = true, ReadOnlySpan<int> promptTokenIds = default)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
        _stripRemaining = tokenizer.DecodeStripLeadingSpaces;
        foreach (int id in promptTokenIds)
        {
            if (Keeps(id) && !tokenizer.GetTokenBytes(id).IsEmpty)
            {
                _stripRemaining = 0;
                break;
            }
        }
    }

    /// <summary>Number of tokens added so far.</summary>
    public int TokenCount { get; private set; }

    /// <summary>Adds one generated token and returns the text it completes (often "", never a broken character).</summary>
    public string Add(int tokenId)
    {
        TokenCount++;
        if (!Keeps(tokenId))
        {
            return string.Empty;
        }

        ReadOnlySpan<byte> bytes = _tokenizer.GetTokenBytes(tokenId);
        if (bytes.IsEmpty)
        {
            return string.Empty;
        }

        Append(bytes);
        StripLeadingSpaces();
        int complete = CompleteLength(_pending.AsSpan(0, _pendingLength));
        if (complete == 0)
        {
            return string.Empty;
        }

        string delta = Encoding.UTF8.GetString(_pending, 0, complete);
        _pending.AsSpan(complete, _pendingLength - complete).CopyTo(_pending);
        _pendingLength -= complete;
        return delta;
    }

    /// <summary>
    /// Returns bytes still held back at the end of the stream (an incomplete character, which
    /// Decode would also show as U+FFFD); "" in the normal case.
    /// </summary>
    public string Flush()
    {
        string rest = Encoding.UTF8.GetString(_pending, 0, _pendingLength);
        _pendingLength = 0;
        return rest;
    }

    private bool Keeps(int id) => !(_skipSpecialTokens && _tokenizer.IsSpecial(id));

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_pendingLength + bytes.Length > _pending.Length)
        {
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingLength + bytes.Length));
        }

        bytes.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += bytes.Length;
    }

    /// <summary>Decode strips up to N spaces from the very start of the text; do the same once.</summary>
    private void StripLeadingSpaces()
    {
        if (_stripRemaining == 0)
        {
            return;
        }

        int stripped = 0;
        while (stripped < _pendingLength && stripped < _stripRemaining && _pending[stripped] == (byte)' ')
        {
            stripped++;
        }

        _pending.AsSpan(stripped, _pendingLength - stripped).CopyTo(_pending);
        _pendingLength -= stripped;
        _stripRemaining -= stripped;
        if (_pendingLength > 0)
        {
            // Text has started: later spaces are real.
            _stripRemaining = 0;
        }
    }

    /// <summary>Length of the prefix that does not end inside a (so far valid) multi-byte character.</summary>
    private static int CompleteLength(ReadOnlySpan<byte> bytes)
    {
        int length = bytes.Length;
        for (int back = 1; back <= 3 && back <= length; back++)
        {
            byte b = bytes[length - back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // continuation byte: keep looking for its lead byte
            }

            int needed = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 ? 2 : 1;
            return needed > back ? length - back : length;
        }

        return length;
    }
}
