namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// llama.cpp's SentencePiece ("llama") encoding: start from single UTF-8 characters and repeatedly
/// merge the adjacent pair whose concatenation is the vocabulary token with the highest score
/// (ties: leftmost pair first); characters missing from the vocabulary fall back to their
/// &lt;0xXX&gt; byte tokens. Scores, not merge ranks, order the merges, so BpeModel cannot be reused.
/// </summary>
internal sealed class SpmEncoder
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocab;
    private readonly float[] _scores;
    private readonly int[] _byteIds;
    private readonly int? _unkId;

    public SpmEncoder(Dictionary<string, int> vocab, float[] scores, int? unkId)
    {
        _vocab = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _scores = scores;
        _unkId = unkId;
        _byteIds = new int[256];
        for (int b = 0; b < 256; b++)
        {
            _byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        }
    }

    /// <summary>Appends the ids of <paramref name="text"/> (already ▁-escaped) to <paramref name="output"/>.</summary>
    public void Encode(string text, List<int> output)
    {
        if (text.Length == 0)
        {
            return;
        }

        // Symbols as a doubly linked list over [start, start+length) of text, one per character.
        int n = 0;
        var start = new int[text.Length];
        var length = new int[text.Length];
        for (int i = 0; i < text.Length; i += length[n - 1])
        {
            start[n] = i;
            length[n] = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            n++;
        }

        var prev = new int[n];
        var next = new int[n];
        for (int i = 0; i < n; i++)
        {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }

        // Priority: higher score first, then smaller left index (llama.cpp's bigram comparator).
        var queue = new PriorityQueue<(int Left, int Right, int Size), (float Score, int Left)>(
            Comparer<(float Score, int Left)>.Create((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left)));
        for (int i = 1; i < n; i++)
        {
            TryAddPair(text, start, length, i - 1, i, queue);
        }

        while (queue.TryDequeue(out (int Left, int Right, int Size) pair, out _))
        {
            // Stale entries: one side already merged away or grown since the pair was queued.
            if (length[pair.Left] == 0 || length[pair.Right] == 0 || length[pair.Left] + length[pair.Right] != pair.Size
                || next[pair.Left] != pair.Right)
            {
                continue;
            }

            length[pair.Left] += length[pair.Right];
            length[pair.Right] = 0;
            next[pair.Left] = next[pair.Right];
            if (next[pair.Right] >= 0)
            {
                prev[next[pair.Right]] = pair.Left;
            }

            if (prev[pair.Left] >= 0)
            {
                TryAddPair(text, start, length, prev[pair.Left], pair.Left, queue);
            }

            if (next[pair.Left] >= 0)
            {
                TryAddPair(text, start, length, pair.Left, next[pair.Left], queue);
            }
        }

        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i >= 0 && i < n; i = next[i])
        {
            ReadOnlySpan<char> piece = text.AsSpan(start[i], length[i]);
            if (_vocab.TryGetValue(piece, out int id))
            {
                output.Add(id);
                continue;
            }

            // Only single characters can miss (merges always produce vocabulary tokens).
            int count = System.Text.Encoding.UTF8.GetBytes(piece, utf8);
            for (int b = 0; b < count; b++)
            {
                if (_byteIds[utf8[b]] >= 0)
                {
                    output.Add(_byteIds[utf8[b]]);
                }
                else if (_unkId is int unk)
                {
                    output.Add(unk);
                }
            }
        }
    }

    private void TryAddPair(
        string text, int[] start, int[] length, int left, int right,
        PriorityQueue<(int Left, int Right, int Size), (float Score, int Left)> queue)
    {
        int size = length[left] + length[right];
        if (_vocab.TryGetValue(text.AsSpan(start[left], size), out int id))
        {
            queue.Enqueue((left, right, size), ((uint)id < (uint)_scores.Length ? _scores[id] : 0f, left));
        }
    }
}
