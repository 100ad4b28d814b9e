using VllmSharp.Kernels;

namespace VllmSharp.Engine.Sampling;

/// <summary>
/// Turns a step's logits into one token per row, as vLLM v1's sampler does (order in <see cref="RowSampler"/>).
/// Each row depends only on its own logits and its own <see cref="SamplingState"/>, so a request's tokens do not
/// depend on the rest of the batch or on row order.
/// </summary>
/// <remarks>
/// Rows are split into one contiguous chunk per worker thread, each chunk with its own <see cref="RowSampler"/>
/// scratch, and run on the <see cref="WorkerPool"/>.
/// </remarks>
public sealed class Sampler
{
    private readonly RowSampler[] _chunks;

    public Sampler(int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        VocabSize = vocabSize;
        _chunks = new RowSampler[WorkerPool.Shared.ThreadCount];
        for (int i = 0; i < _chunks.Length; i++) _chunks[i] = new RowSampler(vocabSize);
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

        var job = new SampleJob
        {
            Logits = logits, Rows = rows, Sampled = sampled, SampledLogprobs = sampledLogprobs,
            Chunks = _chunks, NumChunks = Math.Min(_chunks.Length, n), VocabSize = VocabSize,
        };
        WorkerPool.Shared.For(job.NumChunks, ref job);
    }

    /// <summary>Chunk c samples rows [c·n/chunks, (c+1)·n/chunks) with its own scratch.</summary>
    private ref struct SampleJob : IParallelJob
    {
        public Span<float> Logits;
        public IReadOnlyList<SamplingState> Rows;
        public Span<int> Sampled;
        public Span<float> SampledLogprobs;
        public RowSampler[] Chunks;
        public int NumChunks, VocabSize;

        public readonly void Execute(int index)
        {
            int n = Rows.Count;
            int start = index * n / NumChunks, end = (index + 1) * n / NumChunks;
            for (int r = start; r < end; r++)
            {
                Chunks[index].Sample(Logits.Slice(r * VocabSize, VocabSize), Rows[r], out int token, out float logprob);
                Sampled[r] = token;
                SampledLogprobs[r] = logprob;
            }
        }
    }
}
