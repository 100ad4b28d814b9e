namespace VllmSharp.Kernels;

/// <summary>
/// Where each sequence of a flattened batch lives, as vLLM's attention metadata: sequence s owns query rows
/// [QueryStartLoc[s], QueryStartLoc[s+1]), has SeqLens[s] tokens in the KV cache after this step's tokens were
/// written (query tokens included), and its block table is BlockTables[s·MaxBlocksPerSeq ..][..ceil(SeqLens[s]/BlockSize)].
/// </summary>
public readonly ref struct AttentionMetadata
{
    public AttentionMetadata(ReadOnlySpan<int> queryStartLoc, ReadOnlySpan<int> seqLens, ReadOnlySpan<int> blockTables,
                             int maxBlocksPerSeq, int blockSize)
    {
        QueryStartLoc = queryStartLoc;
        SeqLens = seqLens;
        BlockTables = blockTables;
        MaxBlocksPerSeq = maxBlocksPerSeq;
        BlockSize = blockSize;
    }

    public ReadOnlySpan<int> QueryStartLoc { get; }
    public ReadOnlySpan<int> SeqLens { get; }
    public ReadOnlySpan<int> BlockTables { get; }
    public int MaxBlocksPerSeq { get; }
    public int BlockSize { get; }
    public int NumSeqs => QueryStartLoc.Length - 1;
}
