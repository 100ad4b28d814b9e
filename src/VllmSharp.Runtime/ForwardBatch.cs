namespace VllmSharp.Runtime;

/// <summary>
/// One model step's input, flattened as vLLM v1 does: the tokens of every scheduled sequence laid end to end
/// (prefill chunks and decode tokens mixed), their positions, the KV-cache slot each token's K/V is written to,
/// and per sequence its query range, context length and block table. <see cref="LogitsIndices"/> names the
/// flat rows whose logits are wanted (usually each sequence's last token). Buffers are allocated once at the
/// capacity given and reused every step.
/// </summary>
public sealed class ForwardBatch
{
    public ForwardBatch(int maxNumTokens, int maxNumSeqs, int maxBlocksPerSeq)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNumTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNumSeqs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBlocksPerSeq, 1);
        TokenIdBuffer = new int[maxNumTokens];
        PositionBuffer = new int[maxNumTokens];
        SlotMappingBuffer = new int[maxNumTokens];
        LogitsIndexBuffer = new int[maxNumTokens];
        QueryStartLocBuffer = new int[maxNumSeqs + 1];
        SeqLenBuffer = new int[maxNumSeqs];
        BlockTableBuffer = new int[maxNumSeqs * maxBlocksPerSeq];
        MaxBlocksPerSeq = maxBlocksPerSeq;
    }

    public int MaxNumTokens => TokenIdBuffer.Length;
    public int MaxNumSeqs => SeqLenBuffer.Length;
    public int MaxBlocksPerSeq { get; }

    public int NumTokens { get; private set; }
    public int NumSeqs { get; private set; }
    public int NumLogits { get; private set; }

    /// <summary>Backing arrays, valid up to the counts above; writable so a runner can fill them directly.</summary>
    public int[] TokenIdBuffer { get; }
    public int[] PositionBuffer { get; }
    public int[] SlotMappingBuffer { get; }
    public int[] LogitsIndexBuffer { get; }
    public int[] QueryStartLocBuffer { get; }
    public int[] SeqLenBuffer { get; }
    public int[] BlockTableBuffer { get; }

    public ReadOnlySpan<int> TokenIds => TokenIdBuffer.AsSpan(0, NumTokens);
    public ReadOnlySpan<int> Positions => PositionBuffer.AsSpan(0, NumTokens);
    public ReadOnlySpan<int> SlotMapping => SlotMappingBuffer.AsSpan(0, NumTokens);
    public ReadOnlySpan<int> LogitsIndices => LogitsIndexBuffer.AsSpan(0, NumLogits);
    public ReadOnlySpan<int> QueryStartLoc => QueryStartLocBuffer.AsSpan(0, NumSeqs + 1);
    public ReadOnlySpan<int> SeqLens => SeqLenBuffer.AsSpan(0, NumSeqs);
    public ReadOnlySpan<int> BlockTables => BlockTableBuffer.AsSpan(0, NumSeqs * MaxBlocksPerSeq);

    /// <summary>Asks for the logits of one more flat row (e.g. every prompt row, for prompt logprobs).</summary>
    public void AddLogitsIndex(int row)
    {
        if ((uint)row >= (uint)NumTokens) throw new ArgumentOutOfRangeException(nameof(row), $"Row {row} is not in the batch ({NumTokens} tokens).");
        if (NumLogits == LogitsIndexBuffer.Length) throw new InvalidOperationException("Every row already has its logits requested.");
        LogitsIndexBuffer[NumLogits++] = row;
    }

    public void Clear()
    {
        NumTokens = 0;
        NumSeqs = 0;
        NumLogits = 0;
    }

    /// <summary>
    /// Appends one sequence's tokens for this step: <paramref name="tokenIds"/> sit at positions
    /// [<paramref name="numComputedTokens"/>, numComputedTokens + count) and their K/V go to the slots given by
    /// <paramref name="blockTable"/>. With <paramref name="computeLogits"/> the last token's logits are returned.
    /// </summary>
    public void AddSequence(ReadOnlySpan<int> tokenIds, int numComputedTokens, ReadOnlySpan<int> blockTable, int blockSize,
        bool computeLogits)
    {
        if (tokenIds.IsEmpty) throw new ArgumentException("A scheduled sequence needs at least one token.", nameof(tokenIds));
        if (NumSeqs == MaxNumSeqs) throw new InvalidOperationException($"The batch already holds {MaxNumSeqs} sequences.");
        if (NumTokens + tokenIds.Length > MaxNumTokens)
            throw new InvalidOperationException($"The batch cannot hold {NumTokens + tokenIds.Length} tokens (max {MaxNumTokens}).");
        int seqLen = numComputedTokens + tokenIds.Length;
        int blocksNeeded = (seqLen + blockSize - 1) / blockSize;
        if (blockTable.Length < blocksNeeded || blocksNeeded > MaxBlocksPerSeq)
            throw new ArgumentException($"{seqLen} tokens need {blocksNeeded} blocks of {blockSize}; the block table has {blockTable.Length} (max {MaxBlocksPerSeq}).", nameof(blockTable));

        int start = NumTokens;
        tokenIds.CopyTo(TokenIdBuffer.AsSpan(start));
        for (int i = 0; i < tokenIds.Length; i++)
        {
            int position = numComputedTokens + i;
            PositionBuffer[start + i] = position;
            SlotMappingBuffer[start + i] = blockTable[position / blockSize] * blockSize + position % blockSize;
        }
        blockTable[..blocksNeeded].CopyTo(BlockTableBuffer.AsSpan(NumSeqs * MaxBlocksPerSeq));
        QueryStartLocBuffer[NumSeqs] = start;
        SeqLenBuffer[NumSeqs] = seqLen;
        NumSeqs++;
        NumTokens = start + tokenIds.Length;
        QueryStartLocBuffer[NumSeqs] = NumTokens;
        if (computeLogits) LogitsIndexBuffer[NumLogits++] = NumTokens - 1;
    }
}
