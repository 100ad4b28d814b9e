namespace VllmSharp.ParityDump;

/// <summary>
/// What counts as parity for one model/dtype: mean KL(llama ‖ ours) per position, the RMS logit error relative to
/// the spread of llama's logits, and the top-2 gap below which a top-1 disagreement is called a near-tie (a
/// difference within the expected numeric noise) rather than a failure.
/// </summary>
public readonly record struct ParityLimits(double MaxMeanKl, double MaxRelativeRms, double TieGap);
