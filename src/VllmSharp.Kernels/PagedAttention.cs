namespace VllmSharp.Kernels;

/// <summary>
/// Attention over a paged KV cache (one layer). The caches are [numBlocks × numKvHeads × blockSize × headDim] f32,
/// vLLM's CPU layout, so the keys of one kv head within one block are contiguous; slot = blockId·blockSize + offset.
/// </summary>
/// <remarks>
/// Every query row is computed on its own, over its keys in position order, with a fixed vector pattern: its result
/// depends only on its query and its keys, never on the batch around it, how its prompt was chunked, or the tiling.
/// </remarks>
public static unsafe class PagedAttention
{
    // Query rows per work item: enough to amortise dispatch, few enough that a long prefill spreads over all cores.
    private const int TileRows = 16;

    // Caller-side scratch: the first tile index of each sequence (grown, never shrunk).
    [ThreadStatic] private static int[]? t_tileStarts;

    // Per-thread scores/accumulator scratch, grown to the longest context seen so steady state allocates nothing.
    [ThreadStatic] private static float[]? t_scratch;

    private static float[] GetScratch(int length)
    {
        float[]? scratch = t_scratch;
        if (scratch is null || scratch.Length < length)
            t_scratch = scratch = new float[Math.Max(length, (scratch?.Length ?? 0) * 2)];
        return scratch;
    }

    /// <summary>
    /// vLLM's reshape_and_cache: k/v are [numTokens × numKvHeads × headDim]; token t is stored at slotMapping[t].
    /// A negative slot skips the token (padding).
    /// </summary>
    public static void WriteKV(ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> slotMapping,
                               Span<float> kCache, Span<float> vCache, int numKvHeads, int headDim, int blockSize)
    {
        if (numKvHeads <= 0 || headDim <= 0 || blockSize <= 0)
            throw new ArgumentException($"numKvHeads ({numKvHeads}), headDim ({headDim}) and blockSize ({blockSize}) must be positive.");
        int tokenStride = numKvHeads * headDim;
        if (k.Length != slotMapping.Length * tokenStride)
            throw new ArgumentException($"k has {k.Length} elements, expected slotMapping.Length × numKvHeads × headDim = {slotMapping.Length * tokenStride}.", nameof(k));
        if (v.Length != k.Length)
            throw new ArgumentException($"v has {v.Length} elements but k has {k.Length}.", nameof(v));
        long numBlocks = CacheBlocks(kCache.Length, vCache.Length, numKvHeads, blockSize, headDim);
        long numSlots = numBlocks * blockSize;
        for (int t = 0; t < slotMapping.Length; t++)
            if (slotMapping[t] >= numSlots)
                throw new ArgumentException($"slotMapping[{t}] = {slotMapping[t]} is outside the cache's {numSlots} slots.", nameof(slotMapping));

        for (int t = 0; t < slotMapping.Length; t++)
        {
            int slot = slotMapping[t];
            if (slot < 0) continue;
            int block = slot / blockSize, offset = slot % blockSize;
            for (int g = 0; g < numKvHeads; g++)
            {
                long dst = (((long)block * numKvHeads + g) * blockSize + offset) * headDim;
                int src = t * tokenStride + g * headDim;
                k.Slice(src, headDim).CopyTo(kCache.Slice((int)dst, headDim));
                v.Slice(src, headDim).CopyTo(vCache.Slice((int)dst, headDim));
            }
        }
    }

    /// <summary>
    /// Causal attention for a mixed batch of prefill (possibly continuing a cached prefix) and decode rows.
    /// q/output are [numTokens × numHeads × headDim]. Query row i of a sequence with qLen rows sits at
    /// p = SeqLens[s] − qLen + i and attends to positions [max(0, p − slidingWindow + 1) or 0, p].
    /// Head h reads kv head h / (numHeads / numKvHeads). Softmax in f32 with the max subtracted.
    /// </summary>
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> kCache, ReadOnlySpan<float> vCache, Span<float> output,
                               in AttentionMetadata meta, int numHeads, int numKvHeads, int headDim, float scale, int slidingWindow = 0)
    {
        int numTiles = Validate(q.Length, kCache.Length, vCache.Length, output.Length, meta, numHeads, numKvHeads, headDim, slidingWindow);
        if (numTiles == 0) return;
        int[] tileStarts = t_tileStarts!; // filled by Validate

        fixed (float* pq = q, pk = kCache, pv = vCache, po = output)
        fixed (int* pStart = meta.QueryStartLoc, pLens = meta.SeqLens, pTables = meta.BlockTables, pTiles = tileStarts)
        {
            var job = new AttentionJob
            {
                Q = pq, K = pk, V = pv, Output = po,
                QueryStartLoc = pStart, SeqLens = pLens, BlockTables = pTables, TileStarts = pTiles,
                NumSeqs = meta.NumSeqs, NumTiles = numTiles, MaxBlocksPerSeq = meta.MaxBlocksPerSeq, BlockSize = meta.BlockSize,
                NumHeads = numHeads, NumKvHeads = numKvHeads, HeadDim = headDim, Scale = scale, SlidingWindow = slidingWindow,
            };
            WorkerPool.Shared.For(numTiles * numKvHeads, ref job);
        }
    }

    private static long CacheBlocks(int kLength, int vLength, int numKvHeads, int blockSize, int headDim)
    {
        long blockStride = (long)numKvHeads * blockSize * headDim;
        if (kLength % blockStride != 0)
            throw new ArgumentException($"kCache has {kLength} elements, not a multiple of numKvHeads × blockSize × headDim = {blockStride}.", "kCache");
        if (vLength != kLength)
            throw new ArgumentException($"vCache has {vLength} elements but kCache has {kLength}.", "vCache");
        return kLength / blockStride;
    }

    // Checks every shape and block id once, and fills the caller's tile table; returns the number of row tiles.
    private static int Validate(int qLength, int kLength, int vLength, int outLength, in AttentionMetadata meta,
                                int numHeads, int numKvHeads, int headDim, int slidingWindow)
    {
        if (numHeads <= 0 || numKvHeads <= 0 || headDim <= 0)
            throw new ArgumentException($"numHeads ({numHeads}), numKvHeads ({numKvHeads}) and headDim ({headDim}) must be positive.");
        if (numHeads % numKvHeads != 0)
            throw new ArgumentException($"numHeads ({numHeads}) must be a multiple of numKvHeads ({numKvHeads}).", nameof(numKvHeads));
        if (slidingWindow < 0) throw new ArgumentException($"slidingWindow must be ≥ 0, got {slidingWindow}.", nameof(slidingWindow));
        if (meta.BlockSize <= 0) throw new ArgumentException($"BlockSize must be positive, got {meta.BlockSize}.", nameof(meta));
        if (meta.MaxBlocksPerSeq < 0) throw new ArgumentException($"MaxBlocksPerSeq must be ≥ 0, got {meta.MaxBlocksPerSeq}.", nameof(meta));
        if (meta.QueryStartLoc.Length < 1 || meta.QueryStartLoc[0] != 0)
            throw new ArgumentException("QueryStartLoc must hold numSeqs + 1 entries starting at 0.", nameof(meta));
        int numSeqs = meta.NumSeqs;
        if (meta.SeqLens.Length != numSeqs)
            throw new ArgumentException($"SeqLens has {meta.SeqLens.Length} entries for {numSeqs} sequences.", nameof(meta));
        if (meta.BlockTables.Length < (long)numSeqs * meta.MaxBlocksPerSeq)
            throw new ArgumentException($"BlockTables has {meta.BlockTables.Length} entries, fewer than numSeqs × MaxBlocksPerSeq.", nameof(meta));

        int numTokens = meta.QueryStartLoc[numSeqs];
        long rowElements = (long)numHeads * headDim;
        if (qLength != numTokens * rowElements)
            throw new ArgumentException($"q has {qLength} elements, expected numTokens ({numTokens}) × numHeads × headDim.", "q");
        if (outLength != qLength)
            throw new ArgumentException($"output has {outLength} elements but q has {qLength}.", "output");
        long numBlocks = CacheBlocks(kLength, vLength, numKvHeads, meta.BlockSize, headDim);

        int[] tileStarts = t_tileStarts is { } existing && existing.Length >= numSeqs + 1 ? existing : new int[Math.Max(16, numSeqs + 1)];
        t_tileStarts = tileStarts;
        int tiles = 0;
        for (int s = 0; s < numSeqs; s++)
        {
            int qLen = meta.QueryStartLoc[s + 1] - meta.QueryStartLoc[s];
            int seqLen = meta.SeqLens[s];
            if (qLen < 0) throw new ArgumentException($"QueryStartLoc decreases at sequence {s}.", nameof(meta));
            if (seqLen < qLen)
                throw new ArgumentException($"SeqLens[{s}] = {seqLen} is shorter than its {qLen} query rows.", nameof(meta));
            int blocks = (int)(((long)seqLen + meta.BlockSize - 1) / meta.BlockSize);
            if (qLen > 0 && blocks > meta.MaxBlocksPerSeq)
                throw new ArgumentException($"Sequence {s} needs {blocks} blocks but MaxBlocksPerSeq is {meta.MaxBlocksPerSeq}.", nameof(meta));
            if (qLen > 0)
            {
                ReadOnlySpan<int> table = meta.BlockTables.Slice(s * meta.MaxBlocksPerSeq, blocks);
                for (int b = 0; b < table.Length; b++)
                    if ((uint)table[b] >= numBlocks)
                        throw new ArgumentException($"Block table of sequence {s} holds block {table[b]}, outside the cache's {numBlocks} blocks.", nameof(meta));
            }
            tileStarts[s] = tiles;
            tiles += (qLen + TileRows - 1) / TileRows;
        }
        tileStarts[numSeqs] = tiles;
        return tiles;
    }

    private struct AttentionJob : IParallelJob
    {
        public float* Q, K, V, Output;
        public int* QueryStartLoc, SeqLens, BlockTables, TileStarts;
        public int NumSeqs, NumTiles, MaxBlocksPerSeq, BlockSize, NumHeads, NumKvHeads, HeadDim, SlidingWindow;
        public float Scale;

        public readonly void Execute(int index)
        {
            // Highest tiles first: within a prefill the last rows see the most keys, and starting them early
            // keeps one core from finishing a long tile alone at the end.
            int tile = NumTiles - 1 - index / NumKvHeads, kvHead = index % NumKvHeads;
            int s = FindSequence(tile);
            int qStart = QueryStartLoc[s], qLen = QueryStartLoc[s + 1] - qStart;
            int firstRow = (tile - TileStarts[s]) * TileRows;
            int endRow = Math.Min(qLen, firstRow + TileRows);
            int seqLen = SeqLens[s];

            int group = NumHeads / NumKvHeads;
            int maxKeys = seqLen - qLen + endRow; // keys of the tile's last row, the most any row here needs
            if (SlidingWindow > 0) maxKeys = Math.Min(maxKeys, SlidingWindow);
            float[] scratch = GetScratch(group * (maxKeys + HeadDim + 1));
            fixed (float* pScratch = scratch)
            {
                for (int i = firstRow; i < endRow; i++)
                {
                    int position = seqLen - qLen + i;
                    long rowOffset = ((long)(qStart + i) * NumHeads + kvHead * group) * HeadDim;
                    // Only the tile's first row prefetches: the rows after it read blocks that row just brought in.
                    AttendRow(Q + rowOffset, Output + rowOffset, BlockTables + (long)s * MaxBlocksPerSeq, kvHead, position, group, pScratch, prefetch: i == firstRow);
                }
            }
        }

        // The tile table is sorted; sequences with no query rows own an empty range and are skipped.
        private readonly int FindSequence(int tile)
        {
            int lo = 0, hi = NumSeqs - 1;
            while (lo < hi)
            {
                int mid = (lo + hi + 1) >> 1;
                if (TileStarts[mid] <= tile) lo = mid; else hi = mid - 1;
            }
            return lo;
        }

        /// <summary>Prefetches kv head kvHead's rows of the sequence's block blockIndex (nothing past lastBlock; −1: nothing).</summary>
        private readonly void PrefetchBlock(float* cache, int* blockTable, int blockIndex, int lastBlock, int kvHead)
        {
            if (blockIndex > lastBlock) return;
            StreamPrefetch.Range(cache + ((long)blockTable[blockIndex] * NumKvHeads + kvHead) * BlockSize * HeadDim, (long)BlockSize * HeadDim * sizeof(float));
        }

        // One query row for all `group` heads sharing kvHead: each key and value row is read once for the group.
        private readonly void AttendRow(float* q, float* output, int* blockTable, int kvHead, int position, int group, float* scratch, bool prefetch)
        {
            int first = SlidingWindow > 0 ? Math.Max(0, position - SlidingWindow + 1) : 0;
            int n = position - first + 1;
            int headDim = HeadDim;
            float* scores = scratch;             // [group × n]
            float* acc = scratch + group * n;    // [group × headDim]
            float* sums = acc + group * headDim; // [group]

            // Scores, walking the block table so the key rows of each block are read contiguously. A block's rows
            // for one kv head are a few KiB between other heads' rows, which the hardware prefetchers do not follow
            // (decode attention read its cache at ~17 GB/s): blocks are prefetched two ahead.
            int prefetchLast = prefetch ? position / BlockSize : -1; // the last block to prefetch (−1: none)
            PrefetchBlock(K, blockTable, first / BlockSize + 1, prefetchLast, kvHead);
            for (int pos = first; pos <= position;)
            {
                int blockIndex = pos / BlockSize, offset = pos % BlockSize;
                PrefetchBlock(K, blockTable, blockIndex + 2, prefetchLast, kvHead);
                int count = Math.Min(BlockSize - offset, position - pos + 1);
                float* keys = K + (((long)blockTable[blockIndex] * NumKvHeads + kvHead) * BlockSize + offset) * headDim;
                for (int h = 0; h < group; h++)
                    AttentionKernels.Scores(q + h * headDim, keys, count, headDim, Scale, scores + h * n + (pos - first));
                pos += count;
            }

            PrefetchBlock(V, blockTable, first / BlockSize, prefetchLast, kvHead);
            PrefetchBlock(V, blockTable, first / BlockSize + 1, prefetchLast, kvHead);
            for (int h = 0; h < group; h++)
            {
                float* row = scores + h * n;
                sums[h] = ElementwiseSimd.ExpSubtractMax(row, n, ElementwiseSimd.Max(row, n));
            }

            new Span<float>(acc, group * headDim).Clear();
            for (int pos = first; pos <= position;)
            {
                int blockIndex = pos / BlockSize, offset = pos % BlockSize;
                int count = Math.Min(BlockSize - offset, position - pos + 1);
                PrefetchBlock(V, blockTable, blockIndex + 2, prefetchLast, kvHead);
                float* values = V + (((long)blockTable[blockIndex] * NumKvHeads + kvHead) * BlockSize + offset) * headDim;
                for (int h = 0; h < group; h++)
                    AttentionKernels.WeightedSum(values, scores + h * n + (pos - first), count, headDim, acc + h * headDim);
                pos += count;
            }

            for (int h = 0; h < group; h++)
            {
                ElementwiseSimd.Scale(acc + h * headDim, 1f / sums[h], headDim);
                Buffer.MemoryCopy(acc + h * headDim, output + h * headDim, headDim * sizeof(float), headDim * sizeof(float));
            }
        }
    }
}
