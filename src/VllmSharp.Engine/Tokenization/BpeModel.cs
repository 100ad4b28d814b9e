using System.Collections.Concurrent;
using System.Text;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// The BPE model of Hugging Face <c>tokenizers</c>: turns one pre-token into ids by starting from
/// single characters and applying merges lowest rank first (leftmost among equals), with
/// <c>ignore_merges</c> (Llama 3), <c>byte_fallback</c> + <c>fuse_unk</c> (SentencePiece-style BPE)
/// and an optional continuing-subword prefix / end-of-word suffix.
/// </summary>
/// <remarks>
/// Written here rather than taken from Microsoft.ML.Tokenizers' BpeTokenizer because that one has
/// no ignore_merges and no byte fallback, and takes merges as space-separated strings, which
/// cannot express merges whose parts contain a space.
/// </remarks>
internal sealed class BpeModel
{
    private const int MaxCachedWordLength = 256;
    private const int MaxCacheEntries = 200_000;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly Dictionary<long, Merge> _merges;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly int[] _byteFallbackIds;
    private readonly int? _unkId;

    public BpeModel(
        Dictionary<string, int> vocab,
        IReadOnlyList<(string Left, string Right)> merges,
        string? unkToken,
        bool fuseUnk,
        bool byteFallback,
        bool ignoreMerges,
        string? continuingSubwordPrefix,
        string? endOfWordSuffix)
    {
        _vocab = vocab;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        FuseUnk = fuseUnk;
        ByteFallback = byteFallback;
        IgnoreMerges = ignoreMerges;
        ContinuingSubwordPrefix = string.IsNullOrEmpty(continuingSubwordPrefix) ? null : continuingSubwordPrefix;
        EndOfWordSuffix = string.IsNullOrEmpty(endOfWordSuffix) ? null : endOfWordSuffix;
        _unkId = unkToken is not null && vocab.TryGetValue(unkToken, out int unk) ? unk : null;

        _byteFallbackIds = new int[256];
        for (int b = 0; b < 256; b++)
        {
            _byteFallbackIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        }

        _merges = new Dictionary<long, Merge>(merges.Count, PairKeyComparer.Instance);
        int prefixLength = ContinuingSubwordPrefix?.Length ?? 0;
        Span<char> scratch = stackalloc char[256];
        for (int rank = 0; rank < merges.Count; rank++)
        {
            (string left, string right) = merges[rank];
            if (!vocab.TryGetValue(left, out int leftId) || !vocab.TryGetValue(right, out int rightId))
            {
                throw new TokenizerLoadException($"BPE merge #{rank} ('{left}' '{right}') uses a token missing from the vocabulary.");
            }

            // A merged right part loses its continuing-subword prefix, as in Hugging Face.
            ReadOnlySpan<char> rightPart = prefixLength > 0 && right.StartsWith(ContinuingSubwordPrefix!, StringComparison.Ordinal) ? right.AsSpan(prefixLength) : right;
            int length = left.Length + rightPart.Length;

            // Concatenate on the stack: hundreds of thousands of merges, no string per merge.
            Span<char> merged = length <= scratch.Length ? scratch[..length] : new char[length];
            left.CopyTo(merged);
            rightPart.CopyTo(merged[left.Length..]);
            if (!_vocabBySpan.TryGetValue(merged, out int newId))
            {
                throw new TokenizerLoadException($"BPE merge #{rank} result '{merged}' is missing from the vocabulary.");
            }

            _merges.TryAdd(Key(leftId, rightId), new Merge(rank, newId));
        }
    }

    public bool FuseUnk { get; }

    public bool ByteFallback { get; }

    public bool IgnoreMerges { get; }

    public string? ContinuingSubwordPrefix { get; }

    public string? EndOfWordSuffix { get; }

    public IReadOnlyDictionary<string, int> Vocab => _vocab;

    /// <summary>Appends the ids of one pre-token to <paramref name="output"/>.</summary>
    public void EncodeWord(string word, List<int> output)
    {
        if (word.Length == 0)
        {
            return;
        }

        if (word.Length <= MaxCachedWordLength && _cache.TryGetValue(word, out int[]? cached))
        {
            output.AddRange(cached);
            return;
        }

        int[] ids = EncodeUncached(word);
        if (word.Length <= MaxCachedWordLength)
        {
            if (_cache.Count >= MaxCacheEntries)
            {
                _cache.Clear();
            }

            _cache.TryAdd(word, ids);
        }

        output.AddRange(ids);
    }

    private int[] EncodeUncached(string word)
    {
        if (IgnoreMerges && _vocab.TryGetValue(word, out int whole))
        {
            return [whole];
        }

        var symbols = new List<int>(word.Length);
        bool lastWasUnk = false;
        int index = 0;
        while (index < word.Length)
        {
            int charLength = char.IsHighSurrogate(word[index]) && index + 1 < word.Length && char.IsLowSurrogate(word[index + 1]) ? 2 : 1;
            ReadOnlySpan<char> ch = word.AsSpan(index, charLength);
            bool isFirst = index == 0;
            bool isLast = index + charLength == word.Length;
            index += charLength;

            if (TryLookupSymbol(ch, isFirst, isLast, out int id))
            {
                symbols.Add(id);
                lastWasUnk = false;
                continue;
            }

            if (ByteFallback && TryAddFallbackBytes(ch, symbols))
            {
                lastWasUnk = false;
                continue;
            }

            if (_unkId is int unk)
            {
                if (!(FuseUnk && lastWasUnk))
                {
                    symbols.Add(unk);
                }

                lastWasUnk = true;
            }
        }

        return ApplyMerges(symbols);
    }

    private bool TryLookupSymbol(ReadOnlySpan<char> ch, bool isFirst, bool isLast, out int id)
    {
        if (ContinuingSubwordPrefix is null && EndOfWordSuffix is null)
        {
            return _vocabBySpan.TryGetValue(ch, out id);
        }

        string key = (isFirst ? string.Empty : ContinuingSubwordPrefix ?? string.Empty) + ch.ToString() + (isLast ? EndOfWordSuffix ?? string.Empty : string.Empty);
        return _vocab.TryGetValue(key, out id);
    }

    private bool TryAddFallbackBytes(ReadOnlySpan<char> ch, List<int> symbols)
    {
        Span<byte> bytes = stackalloc byte[4];
        int count = Encoding.UTF8.GetBytes(ch, bytes);
        for (int i = 0; i < count; i++)
        {
            if (_byteFallbackIds[bytes[i]] < 0)
            {
                return false;
            }
        }

        for (int i = 0; i < count; i++)
        {
            symbols.Add(_byteFallbackIds[bytes[i]]);
        }

        return true;
    }

    /// <summary>
    /// Applies merges lowest (rank, position) first with a min-heap over a linked list of symbols, skipping stale
    /// entries, so a long pre-token (Gemma does not split on spaces; a hostile 10 MB word) costs O(n log n), not
    /// O(n²). The heap holds bare <c>long</c> keys (rank in the high half, position in the low half), half the memory
    /// traffic of a PriorityQueue of (element, priority) pairs, and is built in O(n).
    /// </summary>
    private int[] ApplyMerges(List<int> symbols)
    {
        int n = symbols.Count;
        if (n <= 1)
        {
            return symbols.ToArray();
        }

        var ids = symbols.ToArray();
        var next = new int[n];
        var prev = new int[n];
        var heap = new MergeHeap(n);
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
            if (i + 1 < n && _merges.TryGetValue(Key(ids[i], ids[i + 1]), out Merge m))
            {
                heap.AddUnordered(Priority(m.Rank, i));
            }
        }

        heap.Heapify();
        while (heap.TryPop(out long priority))
        {
            int pos = (int)(uint)priority;
            int right = next[pos];
            // A removed symbol has prev == -2; a changed pair no longer has this rank: both are stale entries.
            if (prev[pos] == -2 || right < 0 || !_merges.TryGetValue(Key(ids[pos], ids[right]), out Merge merge) || merge.Rank != (int)(priority >> 32))
            {
                continue;
            }

            ids[pos] = merge.NewId;
            prev[right] = -2;
            next[pos] = next[right];
            if (next[right] >= 0)
            {
                prev[next[right]] = pos;
            }

            if (prev[pos] >= 0 && _merges.TryGetValue(Key(ids[prev[pos]], ids[pos]), out Merge before))
            {
                heap.Push(Priority(before.Rank, prev[pos]));
            }

            if (next[pos] >= 0 && _merges.TryGetValue(Key(ids[pos], ids[next[pos]]), out Merge after))
            {
                heap.Push(Priority(after.Rank, pos));
            }
        }

        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i])
        {
            result.Add(ids[i]);
        }

        return result.ToArray();
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private static long Priority(int rank, int position) => ((long)rank << 32) | (uint)position;

    private readonly record struct Merge(int Rank, int NewId);

    /// <summary>
    /// Hashes a (left, right) pair key by multiplying it with a 64-bit odd constant. The default long hash is
    /// left ^ right, which is 0 for every merge of a token with itself ('a'+'a', 'aa'+'aa', '  '+'  ', …): those
    /// all share one bucket, and a long run of one character then spent seconds walking that chain on every lookup.
    /// </summary>
    private sealed class PairKeyComparer : IEqualityComparer<long>
    {
        public static readonly PairKeyComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
    }

    /// <summary>A binary min-heap of <c>long</c> keys that grows as needed.</summary>
    private struct MergeHeap(int capacity)
    {
        private long[] _items = new long[Math.Max(4, capacity)];
        private int _count;

        public void AddUnordered(long key)
        {
            if (_count == _items.Length)
            {
                Array.Resize(ref _items, _items.Length * 2);
            }

            _items[_count++] = key;
        }

        public void Heapify()
        {
            for (int i = (_count >> 1) - 1; i >= 0; i--)
            {
                SiftDown(i);
            }
        }

        public void Push(long key)
        {
            AddUnordered(key);
            int i = _count - 1;
            long[] items = _items;
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (items[parent] <= key)
                {
                    break;
                }

                items[i] = items[parent];
                i = parent;
            }

            items[i] = key;
        }

        public bool TryPop(out long key)
        {
            if (_count == 0)
            {
                key = 0;
                return false;
            }

            key = _items[0];
            _items[0] = _items[--_count];
            if (_count > 0)
            {
                SiftDown(0);
            }

            return true;
        }

        private readonly void SiftDown(int i)
        {
            long[] items = _items;
            int count = _count;
            long key = items[i];
            while (true)
            {
                int child = (i << 1) + 1;
                if (child >= count)
                {
                    break;
                }

                if (child + 1 < count && items[child + 1] < items[child])
                {
                    child++;
                }

                if (items[child] >= key)
                {
                    break;
                }

                items[i] = items[child];
                i = child;
            }

            items[i] = key;
        }
    }
}
