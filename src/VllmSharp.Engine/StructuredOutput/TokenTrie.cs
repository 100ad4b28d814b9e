using System.Runtime.CompilerServices;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// The vocabulary as a byte trie laid out in pre-order, so that a mask walk is one forward loop: a node whose byte
/// the automaton rejects skips its whole subtree by jumping to <see cref="SubtreeEnd"/>. Special tokens and tokens
/// without bytes are left out (a constraint never allows them; EOS is handled apart). Built once per tokenizer.
/// </summary>
internal sealed class TokenTrie
{
    // One slot per tokenizer instance: the Lazy makes the build happen once whether a background prewarm or the
    // first constrained request gets there first (the other waits for it), and replays a failed build's exception.
    private static readonly ConditionalWeakTable<ITokenizer, Slot> s_slots = new();

    private TokenTrie(byte[] nodeByte, int[] depth, int[] subtreeEnd, int[] tokenRanges, int[] tokenIds, int maxDepth)
    {
        NodeByte = nodeByte;
        Depth = depth;
        SubtreeEnd = subtreeEnd;
        TokenRanges = tokenRanges;
        TokenIds = tokenIds;
        MaxDepth = maxDepth;
    }

    /// <summary>The byte on the edge into node i (nodes 0…Count−1; the root is implicit).</summary>
    public byte[] NodeByte { get; }
    /// <summary>Depth of node i: 1 for the first byte of a token.</summary>
    public int[] Depth { get; }
    /// <summary>One past the last node of i's subtree.</summary>
    public int[] SubtreeEnd { get; }
    /// <summary>Tokens ending at node i are TokenIds[TokenRanges[2i] .. TokenRanges[2i + 1]).</summary>
    public int[] TokenRanges { get; }
    public int[] TokenIds { get; }
    public int MaxDepth { get; }
    public int Count => NodeByte.Length;

    /// <summary>The tokenizer's trie, built now on this thread unless a build (e.g. <see cref="Prewarm"/>) is under way or done.</summary>
    public static TokenTrie For(ITokenizer tokenizer) => SlotOf(tokenizer).Trie.Value;

    /// <summary>
    /// Starts building the tokenizer's trie on a background thread, once per tokenizer; the returned task completes
    /// when it is built (it never faults: a failed build is reported by <see cref="For"/> on the constrained request).
    /// </summary>
    public static Task Prewarm(ITokenizer tokenizer)
    {
        Slot slot = SlotOf(tokenizer);
        lock (slot)
            return slot.Background ??= Task.Factory.StartNew(static state =>
            {
                try
                {
                    _ = ((Slot)state!).Trie.Value;
                }
                catch (Exception)
                {
                    // Kept by the Lazy and rethrown to the first request that needs the trie.
                }
            }, slot, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>How many times a build of this tokenizer's trie started (tests: prewarm and requests share one).</summary>
    internal static int BuildCount(ITokenizer tokenizer) => Volatile.Read(ref SlotOf(tokenizer).Builds);

    /// <summary>The background build <see cref="Prewarm"/> started for this tokenizer, if any (tests: the engine starts one).</summary>
    internal static Task? PrewarmTask(ITokenizer tokenizer)
    {
        Slot slot = SlotOf(tokenizer);
        lock (slot) return slot.Background;
    }

    private static Slot SlotOf(ITokenizer tokenizer) => s_slots.GetValue(tokenizer, static t => new Slot(t));

    private sealed class Slot
    {
        public readonly Lazy<TokenTrie> Trie;
        public Task? Background;
        public int Builds;

        public Slot(ITokenizer tokenizer) => Trie = new Lazy<TokenTrie>(() =>
        {
            Interlocked.Increment(ref Builds);
            return Build(tokenizer);
        }, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    private static TokenTrie Build(ITokenizer tokenizer)
    {
        var tokens = new List<(byte[] Bytes, int Id)>(tokenizer.VocabSize);
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            if (tokenizer.IsSpecial(id)) continue;
            ReadOnlySpan<byte> bytes = tokenizer.GetTokenBytes(id);
            if (bytes.Length > 0) tokens.Add((bytes.ToArray(), id));
        }
        tokens.Sort((a, b) =>
        {
            int c = a.Bytes.AsSpan().SequenceCompareTo(b.Bytes);
            return c != 0 ? c : a.Id.CompareTo(b.Id);
        });

        // In sorted order each token adds the nodes for the bytes past its common prefix with the previous token:
        // exactly a pre-order numbering of the trie. A node's subtree ends when a later token leaves its prefix.
        var nodeByte = new List<byte>();
        var depth = new List<int>();
        var subtreeEnd = new List<int>();
        var tokenStart = new List<int>();
        var tokenIds = new int[tokens.Count];
        var path = new List<int>(); // node index at each depth−1 of the current token
        byte[] previous = [];
        int maxDepth = 0;
        for (int t = 0; t < tokens.Count; t++)
        {
            byte[] bytes = tokens[t].Bytes;
            int common = bytes.AsSpan().CommonPrefixLength(previous);
            for (int d = path.Count - 1; d >= common; d--) subtreeEnd[path[d]] = nodeByte.Count;
            path.RemoveRange(common, path.Count - common);
            for (int d = common; d < bytes.Length; d++)
            {
                path.Add(nodeByte.Count);
                nodeByte.Add(bytes[d]);
                depth.Add(d + 1);
                subtreeEnd.Add(-1);
                tokenStart.Add(t);
            }
            tokenIds[t] = tokens[t].Id;
            maxDepth = Math.Max(maxDepth, bytes.Length);
            previous = bytes;
        }
        foreach (int node in path) subtreeEnd[node] = nodeByte.Count;
        // tokenStart[i] is the first token whose path created node i. Tokens ending exactly at i (equal byte strings,
        // duplicates possible) sort before the longer ones below it, so they are a run from there.
        int[] depths = [.. depth];
        var pairs = new int[nodeByte.Count * 2];
        for (int i = 0; i < nodeByte.Count; i++)
        {
            int start = tokenStart[i], end = start;
            while (end < tokens.Count && tokens[end].Bytes.Length == depths[i] && tokens[end].Bytes.AsSpan().SequenceEqual(tokens[start].Bytes))
                end++;
            pairs[2 * i] = start;
            pairs[2 * i + 1] = end;
        }
        return new TokenTrie([.. nodeByte], depths, [.. subtreeEnd], pairs, tokenIds, maxDepth);
    }
}
