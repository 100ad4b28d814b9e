using VllmSharp.Core.Outputs;
using VllmSharp.Core.Requests;
using VllmSharp.Runtime;

namespace VllmSharp.Engine.Sampling;

/// <summary>
/// vLLM's <c>prompt_logprobs</c> inside the model runner: for requests that ask, one step's prompt chunk also returns the
/// logits of its rows (row p predicts prompt token p + 1); their log-softmax is collected into the request's
/// <see cref="SamplingState.PromptLogprobs"/> until the first token is sampled. The batch's other logits rows (one per
/// sampled request) are copied out contiguous for the sampler, as without prompt logprobs.
/// </summary>
/// <remarks>
/// The KV cache manager serves no prefix-cache hits to such requests, so every prompt position is computed here. A
/// request preempted and recomputed meets its positions again; those already collected are skipped.
/// </remarks>
internal sealed class PromptLogprobsCollector
{
    private readonly List<(int LogitsRow, SamplingState State, int TokenId, int Position)> _rows = [];

    public void Clear() => _rows.Clear();

    /// <summary>
    /// After <paramref name="request"/>'s tokens [<paramref name="start"/>, start + <paramref name="count"/>) were added
    /// to <paramref name="batch"/>: asks for the logits of the rows that predict prompt tokens not collected yet.
    /// </summary>
    public void Add(ForwardBatch batch, Request request, SamplingState state, int start, int count)
    {
        int promptLength = request.PromptTokenIds.Count;
        state.PromptLogprobs ??= [null]; // the first prompt token has no logprob
        int firstFlatRow = batch.NumTokens - count;
        for (int p = start; p < start + count && p + 1 < promptLength; p++)
        {
            if (p + 1 < state.PromptLogprobs.Count) continue; // already collected before a preemption
            _rows.Add((batch.NumLogits, state, request.PromptTokenIds[p + 1], p + 1));
            batch.AddLogitsIndex(firstFlatRow + (p - start));
        }
    }

    /// <summary>
    /// Collects the prompt rows of <paramref name="logits"/> (the model's output, one row per requested index) and
    /// copies the other rows, in order, into <paramref name="samplingRows"/>.
    /// </summary>
    public void Collect(ReadOnlySpan<float> logits, int vocab, Span<float> samplingRows)
    {
        if (_rows.Count == 0)
        {
            logits.CopyTo(samplingRows);
            return;
        }
        int next = 0, outRow = 0, totalRows = logits.Length / vocab;
        for (int r = 0; r < totalRows; r++)
        {
            ReadOnlySpan<float> row = logits.Slice(r * vocab, vocab);
            if (next < _rows.Count && _rows[next].LogitsRow == r)
            {
                var (_, state, token, position) = _rows[next++];
                if (position != state.PromptLogprobs!.Count) continue;
                float max = SamplingSimd.Max(row);
                double logSumExp = Math.Log(SamplingSimd.SumExp(row, max));
                state.PromptLogprobs.Add(TopLogprobs.Collect(row, token, state.Params.PromptLogprobs ?? 0, max, logSumExp));
                continue;
            }
            row.CopyTo(samplingRows.Slice(outRow++ * vocab, vocab));
        }
    }
}
