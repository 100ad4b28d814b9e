namespace VllmSharp.Engine.Sampling;

/// <summary>
/// Turns a step's logits into one token per row, as vLLM v1's sampler does (order in <see cref="RowSampler"/>).
/// Each row depends only on its own logits and its own <see cref="SamplingState"/>, so a request's tokens do not
/// depend on the rest of the batch or on row order.
/// </summary>
/// <remarks>
/// Rows run one after another on the calling thread. Running them on <c>WorkerPool</c> needs the job to carry the
/// logits span, which a plain struct job cannot; it needs <c>WorkerPool.For</c> to accept ref-struct jobs
/// (<c>allows ref struct</c>). The per-row scratch already lives in <see cref="RowSampler"/> so that change is local.
/// </remarks>
public sealed class Sampler
{
    private readonly RowSampler _row;

    public Sampler(int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        VocabSize = vocabSize;
        _row = new RowSampler(vocabSize);
    }

    public int VocabSize { get; }

    /// <summary>
    /// Samples one token per row. <paramref name="logits"/> holds <c>rows.Count × VocabSize</c> raw logits and is
    /// modified in place (penalties, masks). <paramref name="sampledLogprobs"/> receives each token's log-probability
    /// under the raw logits (log-softmax of the unmodified row), vLLM's default logprobs mode.
    /// </summary>
    public void Sample(Span<float> logits, IReadOnlyList<SamplingState> rows, Span<int> sampled, Span<float> sampledLogprobs)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int n = rows.Count;
        if (logits.Length != (long)n * VocabSize)
            throw new ArgumentException($"logits holds {logits.Length} values, expected {n} rows × {VocabSize}.", nameof(logits));
        if (sampled.Length < n) throw new ArgumentException($"sampled holds {sampled.Length} slots for {n} rows.", nameof(sampled));
        if (sampledLogprobs.Length < n)
            throw new ArgumentException($"sampledLogprobs holds {sampledLogprobs.Length} slots for {n} rows.", nameof(sampledLogprobs));

        for (int r = 0; r < n; r++)
        {
            _row.Sample(logits.Slice(r * VocabSize, VocabSize), rows[r], out int token, out float logprob);
            sampled[r] = token;
            sampledLogprobs[r] = logprob;
        }
    }
}
