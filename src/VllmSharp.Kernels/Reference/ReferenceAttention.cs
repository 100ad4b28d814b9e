namespace VllmSharp.Kernels.Reference;

/// <summary>
/// Scalar twin of <see cref="PagedAttention"/>: plain causal attention in double over contiguous K/V.
/// <see cref="Forward"/> has the paged signature and only gathers each sequence's context before calling
/// <see cref="ForwardContiguous"/>, which knows nothing about blocks.
/// </summary>
public static class ReferenceAttention
{
    public static void WriteKV(ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> slotMapping,
                               Span<float> kCache, Span<float> vCache, int numKvHeads, int headDim, int blockSize)
    {
        for (int t = 0; t < slotMapping.Length; t++)
        {
            int slot = slotMapping[t];
            if (slot < 0) continue;
            for (int g = 0; g < numKvHeads; g++)
                for (int d = 0; d < headDim; d++)
                {
                    int dst = ((slot / blockSize * numKvHeads + g) * blockSize + slot % blockSize) * headDim + d;
                    kCache[dst] = k[(t * numKvHeads + g) * headDim + d];
                    vCache[dst] = v[(t * numKvHeads + g) * headDim + d];
                }
        }
    }

    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> kCache, ReadOnlySpan<float> vCache, Span<float> output,
                               in AttentionMetadata meta, int numHeads, int numKvHeads, int headDim, float scale, int slidingWindow = 0)
    {
        int total = 0;
        foreach (int len in meta.SeqLens) total += len;
        var k = new float[total * numKvHeads * headDim];
        var v = new float[k.Length];
        int tokenStride = numKvHeads * headDim, next = 0;
        for (int s = 0; s < meta.NumSeqs; s++)
            for (int pos = 0; pos < meta.SeqLens[s]; pos++, next++)
            {
                int block = meta.BlockTables[s * meta.MaxBlocksPerSeq + pos / meta.BlockSize];
                for (int g = 0; g < numKvHeads; g++)
                {
                    int src = ((block * numKvHeads + g) * meta.BlockSize + pos % meta.BlockSize) * headDim;
                    kCache.Slice(src, headDim).CopyTo(k.AsSpan(next * tokenStride + g * headDim));
                    vCache.Slice(src, headDim).CopyTo(v.AsSpan(next * tokenStride + g * headDim));
                }
            }
        ForwardContiguous(q, k, v, output, meta.QueryStartLoc, meta.SeqLens, numHeads, numKvHeads, headDim, scale, slidingWindow);
    }

    /// <summary>
    /// k/v hold every sequence's whole context back to back, sequence s taking SeqLens[s] rows of
    /// [numKvHeads × headDim]; the last qLen rows of a context belong to that sequence's query rows.
    /// </summary>
    public static void ForwardContiguous(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output,
                                         ReadOnlySpan<int> queryStartLoc, ReadOnlySpan<int> seqLens,
                                         int numHeads, int numKvHeads, int headDim, float scale, int slidingWindow = 0)
    {
        int group = numHeads / numKvHeads;
        int kvStart = 0;
        for (int s = 0; s < seqLens.Length; s++)
        {
            int qStart = queryStartLoc[s], qLen = queryStartLoc[s + 1] - qStart, seqLen = seqLens[s];
            for (int i = 0; i < qLen; i++)
            {
                int p = seqLen - qLen + i;
                int first = slidingWindow > 0 ? Math.Max(0, p - slidingWindow + 1) : 0;
                for (int h = 0; h < numHeads; h++)
                {
                    int kvHead = h / group;
                    var weights = new double[p - first + 1];
                    double max = double.NegativeInfinity;
                    for (int j = first; j <= p; j++)
                    {
                        double dot = 0;
                        for (int d = 0; d < headDim; d++)
                            dot += (double)q[((qStart + i) * numHeads + h) * headDim + d] * k[((kvStart + j) * numKvHeads + kvHead) * headDim + d];
                        weights[j - first] = dot * scale;
                        max = Math.Max(max, weights[j - first]);
                    }
                    double sum = 0;
                    for (int j = 0; j < weights.Length; j++) sum += weights[j] = Math.Exp(weights[j] - max);
                    for (int d = 0; d < headDim; d++)
                    {
                        double value = 0;
                        for (int j = first; j <= p; j++)
                            value += weights[j - first] * v[((kvStart + j) * numKvHeads + kvHead) * headDim + d];
                        output[((qStart + i) * numHeads + h) * headDim + d] = (float)(value / sum);
                    }
                }
            }
            kvStart += seqLen;
        }
    }
}
