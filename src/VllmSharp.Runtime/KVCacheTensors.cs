namespace VllmSharp.Runtime;

/// <summary>
/// The paged KV cache memory of every layer: per layer one K and one V array of
/// [numBlocks × numKvHeads × blockSize × headDim] f32, vLLM's CPU layout (a head's keys within a block are
/// contiguous, so attention streams them). Which block belongs to which request is the KV cache manager's
/// business (Core); this class only holds the numbers.
/// </summary>
public sealed class KVCacheTensors
{
    public KVCacheTensors(int numLayers, int numBlocks, int blockSize, int numKvHeads, int headDim)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        long perLayer = (long)numBlocks * blockSize * numKvHeads * headDim;
        if (perLayer > Array.MaxLength)
            throw new ArgumentException($"{numBlocks} blocks of {blockSize} tokens exceed one array per layer; lower the KV cache size.");
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        NumKvHeads = numKvHeads;
        HeadDim = headDim;
        Keys = new float[numLayers][];
        Values = new float[numLayers][];
        for (int layer = 0; layer < numLayers; layer++)
        {
            // Pinned and uninitialised: every slot is written (WriteKV) before attention reads it.
            Keys[layer] = GC.AllocateUninitializedArray<float>((int)perLayer, pinned: true);
            Values[layer] = GC.AllocateUninitializedArray<float>((int)perLayer, pinned: true);
        }
    }

    public int NumBlocks { get; }
    public int BlockSize { get; }
    public int NumKvHeads { get; }
    public int HeadDim { get; }
    public float[][] Keys { get; }
    public float[][] Values { get; }

    /// <summary>Bytes one block takes across all layers (K and V), for sizing the cache from a memory budget.</summary>
    public static long BytesPerBlock(int numLayers, int blockSize, int numKvHeads, int headDim)
        => 2L * numLayers * blockSize * numKvHeads * headDim * sizeof(float);
}
