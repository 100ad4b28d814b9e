using VllmSharp.Kernels;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests;

public class PagedAttentionTests
{
    // Outputs are convex combinations of V entries in [−1, 1]; f32 dots over ≤ 128 dims and f32 softmax sums over
    // ≤ 100 keys keep errors near 1e-6, so 2e-5 leaves margin yet catches any wrong key, mask or head mapping (≥ 1e-2).
    private const float Tol = 2e-5f;

    // (context length, query rows): a full prefill, a chunk continuing a 31-token cached prefix, and decodes
    // at lengths on and off block boundaries.
    private static readonly (int SeqLen, int QLen)[] MixedBatch = [(37, 37), (50, 19), (1, 1), (17, 1), (32, 1), (64, 1), (100, 1)];

    [Theory]
    [InlineData(1, 14, 2, 64)]
    [InlineData(16, 14, 2, 64)]
    [InlineData(32, 14, 2, 64)]
    [InlineData(16, 16, 8, 128)]
    [InlineData(32, 4, 4, 80)]
    [InlineData(16, 6, 3, 32)]
    [InlineData(1, 2, 1, 96)]
    public void Forward_MixedBatchShuffledBlocks_MatchesContiguousReference(int blockSize, int numHeads, int numKvHeads, int headDim)
    {
        var scenario = new Scenario(MixedBatch, numHeads, numKvHeads, headDim, blockSize, seed: blockSize * 100 + numHeads + headDim);
        float[] actual = scenario.RunKernel(slidingWindow: 0);
        float[] expected = scenario.RunContiguousReference(slidingWindow: 0);
        AssertClose(expected, actual);
    }

    [Theory]
    [InlineData(16, 8)]
    [InlineData(1, 5)]
    [InlineData(32, 40)]
    public void Forward_SlidingWindow_MatchesReference(int blockSize, int window)
    {
        var scenario = new Scenario(MixedBatch, 8, 2, 64, blockSize, seed: window);
        AssertClose(scenario.RunContiguousReference(window), scenario.RunKernel(window));
    }

    [Fact]
    public void Forward_EmptySequenceInBatch_Skipped()
    {
        // vLLM never schedules a sequence with no rows, but the kernel must not mis-assign work when one appears.
        var scenario = new Scenario([(5, 0), (20, 20), (9, 0), (33, 1), (4, 0)], 4, 2, 64, 16, seed: 3);
        AssertClose(scenario.RunContiguousReference(0), scenario.RunKernel(0));
    }

    [Fact]
    public void Forward_PagedReferenceTwin_MatchesContiguousReference()
    {
        var scenario = new Scenario(MixedBatch, 14, 2, 64, 16, seed: 5);
        var output = new float[scenario.Q.Length];
        ReferenceAttention.Forward(scenario.Q, scenario.KCache, scenario.VCache, output, scenario.Metadata(),
                                   14, 2, 64, scenario.Scale);
        Assert.Equal(scenario.RunContiguousReference(0), output); // same double arithmetic on the same data
    }

    [Fact]
    public void Forward_SequenceAloneOrInBatch_BitwiseIdentical()
    {
        var scenario = new Scenario(MixedBatch, 14, 2, 64, 16, seed: 9);
        float[] batched = scenario.RunKernel(0);
        int rowElements = 14 * 64;
        for (int s = 0; s < MixedBatch.Length; s++)
        {
            float[] alone = scenario.RunKernelForSequence(s);
            Span<float> inBatch = batched.AsSpan(scenario.QueryStartLoc[s] * rowElements, alone.Length);
            Assert.True(inBatch.SequenceEqual(alone), $"sequence {s} differs when run alone");
        }
    }

    [Fact]
    public void Forward_PrefillInChunks_BitwiseIdenticalToWholePrefill()
    {
        // Same 40-token prompt: once as one prefill, once as chunks of 23 and 17 over the same cache.
        var scenario = new Scenario([(40, 40)], 8, 2, 64, 16, seed: 21);
        float[] whole = scenario.RunKernel(0);
        int row = 8 * 64;
        var chunked = new float[whole.Length];
        int[] tables = scenario.BlockTables;
        foreach ((int start, int len) in new[] { (0, 23), (23, 17) })
        {
            var meta = new AttentionMetadata([0, len], [start + len], tables, scenario.MaxBlocksPerSeq, 16);
            PagedAttention.Forward(scenario.Q.AsSpan(start * row, len * row), scenario.KCache, scenario.VCache,
                                   chunked.AsSpan(start * row, len * row), meta, 8, 2, 64, scenario.Scale);
        }
        Assert.Equal(whole, chunked);
    }

    [Fact]
    public void WriteKV_ThenForward_MatchesReference()
    {
        var scenario = new Scenario(MixedBatch, 14, 2, 64, 16, seed: 13);
        const int kvRow = 2 * 64;
        var kCache = new float[scenario.KCache.Length];
        var vCache = new float[kCache.Length];
        Array.Fill(kCache, float.NaN); // any slot the writes miss poisons the output
        Array.Fill(vCache, float.NaN);
        int totalTokens = scenario.K.Length / kvRow;
        var slots = new int[totalTokens];
        for (int s = 0, token = 0; s < MixedBatch.Length; s++)
            for (int pos = 0; pos < MixedBatch[s].SeqLen; pos++, token++)
                slots[token] = scenario.BlockTables[s * scenario.MaxBlocksPerSeq + pos / 16] * 16 + pos % 16;

        PagedAttention.WriteKV(scenario.K, scenario.V, slots, kCache, vCache, 2, 64, 16);

        for (int t = 0; t < totalTokens; t++)
            for (int g = 0; g < 2; g++)
            {
                int dst = ((slots[t] / 16 * 2 + g) * 16 + slots[t] % 16) * 64;
                Assert.True(kCache.AsSpan(dst, 64).SequenceEqual(scenario.K.AsSpan((t * 2 + g) * 64, 64)), $"k token {t} head {g}");
                Assert.True(vCache.AsSpan(dst, 64).SequenceEqual(scenario.V.AsSpan((t * 2 + g) * 64, 64)), $"v token {t} head {g}");
            }
        var output = new float[scenario.Q.Length];
        PagedAttention.Forward(scenario.Q, kCache, vCache, output, scenario.Metadata(), 14, 2, 64, scenario.Scale);
        AssertClose(scenario.RunContiguousReference(0), output);
    }

    [Fact]
    public void WriteKV_NegativeSlot_SkipsToken()
    {
        const int numKvHeads = 2, headDim = 8, blockSize = 4;
        var kCache = new float[3 * numKvHeads * blockSize * headDim];
        var vCache = new float[kCache.Length];
        var k = new float[3 * numKvHeads * headDim];
        var v = new float[k.Length];
        for (int i = 0; i < k.Length; i++) { k[i] = i + 1; v[i] = -(i + 1); }

        PagedAttention.WriteKV(k, v, [5, -1, 11], kCache, vCache, numKvHeads, headDim, blockSize);

        var expectedK = new float[kCache.Length];
        var expectedV = new float[kCache.Length];
        ReferenceAttention.WriteKV(k, v, [5, -1, 11], expectedK, expectedV, numKvHeads, headDim, blockSize);
        Assert.Equal(expectedK, kCache);
        Assert.Equal(expectedV, vCache);
        int written = 0;
        foreach (float x in kCache) if (x != 0) written++;
        Assert.Equal(2 * numKvHeads * headDim, written); // two tokens land; the padding token writes nothing
        Assert.DoesNotContain(k[numKvHeads * headDim], kCache); // first element of token 1
    }

    [Fact]
    public void WriteKV_SlotOutsideCache_Throws()
        => Assert.Throws<ArgumentException>(() =>
            PagedAttention.WriteKV(new float[16], new float[16], [12], new float[96], new float[96], 2, 8, 3));

    [Fact]
    public void Forward_BadMetadata_Throws()
    {
        var scenario = new Scenario([(10, 3)], 4, 2, 32, 4, seed: 1);
        var output = new float[scenario.Q.Length];
        int[] badTable = (int[])scenario.BlockTables.Clone();
        badTable[1] = 10_000;
        Assert.Throws<ArgumentException>(() => PagedAttention.Forward(scenario.Q, scenario.KCache, scenario.VCache, output,
            new AttentionMetadata([0, 3], [10], badTable, scenario.MaxBlocksPerSeq, 4), 4, 2, 32, 1f));
        Assert.Throws<ArgumentException>(() => PagedAttention.Forward(scenario.Q, scenario.KCache, scenario.VCache, output,
            new AttentionMetadata([0, 3], [2], scenario.BlockTables, scenario.MaxBlocksPerSeq, 4), 4, 2, 32, 1f));
        Assert.Throws<ArgumentException>(() => PagedAttention.Forward(scenario.Q, scenario.KCache, scenario.VCache, output,
            scenario.Metadata(), 4, 3, 32, 1f));
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tol, $"index {i}: expected {expected[i]}, got {actual[i]}");
    }

    /// <summary>
    /// Random q and per-sequence contiguous K/V, scattered into a paged cache through shuffled block tables.
    /// Unused slots hold NaN so a read from the wrong place cannot go unnoticed.
    /// </summary>
    private sealed class Scenario
    {
        private readonly (int SeqLen, int QLen)[] _seqs;
        private readonly int _numHeads, _numKvHeads, _headDim, _blockSize;

        public Scenario((int SeqLen, int QLen)[] seqs, int numHeads, int numKvHeads, int headDim, int blockSize, int seed)
        {
            _seqs = seqs;
            (_numHeads, _numKvHeads, _headDim, _blockSize) = (numHeads, numKvHeads, headDim, blockSize);
            var rng = new Random(seed);
            Scale = 1f / MathF.Sqrt(headDim);
            QueryStartLoc = new int[seqs.Length + 1];
            SeqLens = new int[seqs.Length];
            int totalContext = 0, totalBlocks = 0;
            for (int s = 0; s < seqs.Length; s++)
            {
                QueryStartLoc[s + 1] = QueryStartLoc[s] + seqs[s].QLen;
                SeqLens[s] = seqs[s].SeqLen;
                totalContext += seqs[s].SeqLen;
                int blocks = (seqs[s].SeqLen + blockSize - 1) / blockSize;
                totalBlocks += blocks;
                MaxBlocksPerSeq = Math.Max(MaxBlocksPerSeq, blocks + 1); // one spare entry, left as garbage
            }
            Q = Random(rng, QueryStartLoc[^1] * numHeads * headDim, 4f); // sharp enough that the softmax is far from uniform
            K = Random(rng, totalContext * numKvHeads * headDim, 1f);
            V = Random(rng, K.Length, 1f);

            int numBlocks = totalBlocks + 3; // a few blocks nobody owns
            int[] permutation = new int[numBlocks];
            for (int i = 0; i < numBlocks; i++) permutation[i] = i;
            rng.Shuffle(permutation);
            BlockTables = new int[seqs.Length * MaxBlocksPerSeq];
            Array.Fill(BlockTables, -7);
            KCache = new float[numBlocks * numKvHeads * blockSize * headDim];
            VCache = new float[KCache.Length];
            Array.Fill(KCache, float.NaN);
            Array.Fill(VCache, float.NaN);
            int next = 0, token = 0;
            for (int s = 0; s < seqs.Length; s++)
                for (int pos = 0; pos < seqs[s].SeqLen; pos++, token++)
                {
                    if (pos % blockSize == 0) BlockTables[s * MaxBlocksPerSeq + pos / blockSize] = permutation[next++];
                    int block = BlockTables[s * MaxBlocksPerSeq + pos / blockSize];
                    for (int g = 0; g < numKvHeads; g++)
                    {
                        int dst = ((block * numKvHeads + g) * blockSize + pos % blockSize) * headDim;
                        int src = (token * numKvHeads + g) * headDim;
                        Array.Copy(K, src, KCache, dst, headDim);
                        Array.Copy(V, src, VCache, dst, headDim);
                    }
                }
        }

        public float[] Q { get; }
        public float[] K { get; }
        public float[] V { get; }
        public float[] KCache { get; }
        public float[] VCache { get; }
        public int[] QueryStartLoc { get; }
        public int[] SeqLens { get; }
        public int[] BlockTables { get; }
        public int MaxBlocksPerSeq { get; }
        public float Scale { get; }

        public AttentionMetadata Metadata() => new(QueryStartLoc, SeqLens, BlockTables, MaxBlocksPerSeq, _blockSize);

        public float[] RunKernel(int slidingWindow)
        {
            var output = new float[Q.Length];
            PagedAttention.Forward(Q, KCache, VCache, output, Metadata(), _numHeads, _numKvHeads, _headDim, Scale, slidingWindow);
            return output;
        }

        public float[] RunKernelForSequence(int s)
        {
            int row = _numHeads * _headDim, qLen = _seqs[s].QLen;
            var output = new float[qLen * row];
            var meta = new AttentionMetadata([0, qLen], [_seqs[s].SeqLen],
                BlockTables.AsSpan(s * MaxBlocksPerSeq, MaxBlocksPerSeq), MaxBlocksPerSeq, _blockSize);
            PagedAttention.Forward(Q.AsSpan(QueryStartLoc[s] * row, qLen * row), KCache, VCache, output, meta,
                                   _numHeads, _numKvHeads, _headDim, Scale);
            return output;
        }

        public float[] RunContiguousReference(int slidingWindow)
        {
            var output = new float[Q.Length];
            ReferenceAttention.ForwardContiguous(Q, K, V, output, QueryStartLoc, SeqLens, _numHeads, _numKvHeads, _headDim, Scale, slidingWindow);
            return output;
        }

        private static float[] Random(Random rng, int length, float range)
        {
            var a = new float[length];
            for (int i = 0; i < length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * range;
            return a;
        }
    }
}
