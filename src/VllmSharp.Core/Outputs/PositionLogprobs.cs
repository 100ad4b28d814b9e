namespace VllmSharp.Core.Outputs;

/// <summary>
/// Log-probabilities at one position (vLLM's per-position <c>Logprob</c> dictionary): the token chosen there (sampled,
/// or the prompt's own token), its log-probability and rank (1 = most likely), and the top-k alternatives in descending
/// order of log-probability. Values are the log-softmax of the raw logits, vLLM's default <c>raw_logprobs</c> mode.
/// </summary>
/// <remarks>Arrays rather than a dictionary so that the engine thread allocates two small arrays per position, not a map.</remarks>
public sealed record PositionLogprobs(int TokenId, float Logprob, int Rank, int[] TopTokenIds, float[] TopLogprobs);
