using System.Numerics;

namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// A compiled constraint bound to one tokenizer's vocabulary: the lazy byte DFA plus one token mask per DFA state,
/// computed the first time a request reaches that state and then reused by every request with the same
/// constraint. Shared between threads (requests of several engines may hold it), so DFA growth and the mask cache
/// are guarded by one lock; masks, once published, are never written again.
/// </summary>
public sealed class StructuredOutputGrammar
{
    // 2,048 masks of a 152k vocabulary are ~40 MB; past that the cache starts over rather than grow without bound.
    private const int MaxCachedMasks = 2048;

    private readonly LazyDfa _dfa;
    private readonly TokenTrie _trie;
    private readonly int[] _eosTokenIds;
    private readonly Dictionary<int, ulong[]> _masks = [];
    private readonly int[] _stateAt;
    private readonly object _lock = new();

    internal StructuredOutputGrammar(ByteNfa nfa, TokenTrie trie, int vocabSize, IReadOnlyList<int> eosTokenIds)
    {
        _dfa = new LazyDfa(nfa);
        _trie = trie;
        VocabSize = vocabSize;
        _eosTokenIds = [.. eosTokenIds];
        _stateAt = new int[trie.MaxDepth + 1];
    }

    /// <summary>Token ids the masks cover ([0, VocabSize)); ids past it are never allowed.</summary>
    public int VocabSize { get; }

    internal int StartState => _dfa.Start;

    /// <summary>DFA states created so far (grows as requests explore the constraint).</summary>
    public int StateCount { get { lock (_lock) return _dfa.StateCount; } }

    internal bool IsEos(int tokenId) => Array.IndexOf(_eosTokenIds, tokenId) >= 0;

    internal bool IsAccepting(int state)
    {
        lock (_lock) return _dfa.IsAccepting(state);
    }

    /// <summary>The state after the token's bytes, or <see cref="LazyDfa.Dead"/>.</summary>
    internal int Advance(int state, ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            foreach (byte b in bytes)
            {
                state = _dfa.Next(state, b);
                if (state == LazyDfa.Dead) break;
            }
            return state;
        }
    }

    /// <summary>
    /// The tokens allowed from <paramref name="state"/> as a bitset (bit i of word i/64 = token i): those whose
    /// bytes the DFA accepts from here, plus EOS when the state accepts, or EOS alone when nothing else is possible
    /// (so a finished or broken match ends the request instead of masking every token).
    /// </summary>
    internal ulong[] Mask(int state)
    {
        lock (_lock)
        {
            if (_masks.TryGetValue(state, out ulong[]? mask)) return mask;
            if (_masks.Count >= MaxCachedMasks) _masks.Clear();
            mask = ComputeMask(state);
            _masks[state] = mask;
            return mask;
        }
    }

    private ulong[] ComputeMask(int state)
    {
        var mask = new ulong[(VocabSize + 63) / 64];
        bool any = false;
        if (state != LazyDfa.Dead)
        {
            byte[] nodeByte = _trie.NodeByte;
            int[] depth = _trie.Depth, subtreeEnd = _trie.SubtreeEnd, ranges = _trie.TokenRanges, ids = _trie.TokenIds;
            int[] stateAt = _stateAt;
            stateAt[0] = state;
            int n = _trie.Count, vocab = VocabSize;
            for (int i = 0; i < n;)
            {
                int d = depth[i];
                int next = _dfa.Next(stateAt[d - 1], nodeByte[i]);
                if (next == LazyDfa.Dead)
                {
                    i = subtreeEnd[i]; // no token below this prefix can be allowed
                    continue;
                }
                stateAt[d] = next;
                for (int k = ranges[2 * i], end = ranges[2 * i + 1]; k < end; k++)
                {
                    int id = ids[k];
                    if (id < vocab) { mask[id >> 6] |= 1UL << id; any = true; }
                }
                i++;
            }
        }
        if (!any || _dfa.IsAccepting(state))
            foreach (int eos in _eosTokenIds)
                if ((uint)eos < (uint)VocabSize) mask[eos >> 6] |= 1UL << eos;
        return mask;
    }

    /// <summary>Number of tokens a mask allows (for tests and diagnostics).</summary>
    public static int CountAllowed(ReadOnlySpan<ulong> mask)
    {
        int count = 0;
        foreach (ulong w in mask) count += BitOperations.PopCount(w);
        return count;
    }
}
