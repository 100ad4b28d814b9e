using VllmSharp.Core.Errors;

namespace VllmSharp.Core.Sampling;

/// <summary>Range checks of the logits-processor fields of <see cref="SamplingParams"/> (logit_bias, allowed_token_ids, bad_words).</summary>
public static class LogitsProcessorChecks
{
    /// <summary>OpenAI's bound on a logit_bias value.</summary>
    public const double MaxBias = 100;

    public static void Validate(SamplingParams p)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (p.LogitBias is { } bias)
        {
            foreach ((int id, double value) in bias)
            {
                if (id < 0) throw new InvalidRequestException($"logit_bias token ids must be non-negative, got {id}.", "logit_bias");
                if (!(value is >= -MaxBias and <= MaxBias))
                    throw new InvalidRequestException($"logit_bias values must be in [-100, 100], got {value} for token {id}.", "logit_bias");
            }
        }
        if (p.AllowedTokenIds is { } allowed)
        {
            if (allowed.Count == 0) throw new InvalidRequestException("allowed_token_ids is not allowed to be empty.", "allowed_token_ids");
            foreach (int id in allowed)
                if (id < 0) throw new InvalidRequestException($"allowed_token_ids must be non-negative, got {id}.", "allowed_token_ids");
        }
        foreach (string word in p.BadWords)
            if (string.IsNullOrWhiteSpace(word)) throw new InvalidRequestException("bad_words cannot contain an empty word.", "bad_words");
    }

    /// <summary>vLLM's out-of-vocabulary check, done where the vocabulary size is known (the frontend).</summary>
    public static void CheckVocabulary(SamplingParams p, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (p.LogitBias is { } bias)
            foreach (int id in bias.Keys)
                if (id >= vocabSize) throw new InvalidRequestException($"token_id {id} in logit_bias is out of vocabulary (size {vocabSize}).", "logit_bias");
        if (p.AllowedTokenIds is { } allowed)
            foreach (int id in allowed)
                if (id >= vocabSize) throw new InvalidRequestException($"allowed_token_ids contains out-of-vocab token id {id}.", "allowed_token_ids");
    }
}
