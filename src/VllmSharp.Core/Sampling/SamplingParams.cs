using VllmSharp.Core.Errors;

namespace VllmSharp.Core.Sampling;

/// <summary>
/// How to sample one request's tokens and when to stop — vLLM's <c>SamplingParams</c>, same names and defaults.
/// Call <see cref="Validate"/> once when the request arrives; invalid values throw
/// <see cref="InvalidRequestException"/> naming the parameter.
/// </summary>
public sealed record SamplingParams
{
    /// <summary>Completions to generate for the prompt; they share the prompt's KV blocks.</summary>
    public int N { get; init; } = 1;
    public double PresencePenalty { get; init; }
    public double FrequencyPenalty { get; init; }
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>0 means greedy.</summary>
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 1.0;
    /// <summary>-1 disables top-k.</summary>
    public int TopK { get; init; } = -1;
    public double MinP { get; init; }
    /// <summary>Seed of this request's own generator: the same seed gives the same tokens whatever the batch.</summary>
    public long? Seed { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];
    public bool IgnoreEos { get; init; }
    /// <summary>null: up to the model's maximum length.</summary>
    public int? MaxTokens { get; init; } = 16;
    public int MinTokens { get; init; }
    /// <summary>Top log-probabilities to return per generated token (null: none).</summary>
    public int? Logprobs { get; init; }
    public int? PromptLogprobs { get; init; }
    /// <summary>OpenAI's logit_bias: token id → value in [-100, 100] added to its logit before sampling.</summary>
    public IReadOnlyDictionary<int, double>? LogitBias { get; init; }
    /// <summary>vLLM's allowed_token_ids: only these ids may be sampled (null: any).</summary>
    public IReadOnlyList<int>? AllowedTokenIds { get; init; }
    /// <summary>vLLM's bad_words: words never generated (tokenized with and without a leading space).</summary>
    public IReadOnlyList<string> BadWords { get; init; } = [];
    public bool Detokenize { get; init; } = true;
    public bool SkipSpecialTokens { get; init; } = true;
    public bool SpacesBetweenSpecialTokens { get; init; } = true;
    public bool IncludeStopStrInOutput { get; init; }
    public RequestOutputKind OutputKind { get; init; } = RequestOutputKind.Cumulative;
    /// <summary>Constrains the output to a JSON schema, regex, choice or grammar (null: unconstrained).</summary>
    public StructuredOutputsParams? StructuredOutputs { get; init; }

    public bool IsGreedy => Temperature == 0;

    /// <summary>Checks every field's range as vLLM does; throws naming the first bad parameter.</summary>
    public void Validate()
    {
        Check(N >= 1, "n", $"n must be at least 1, got {N}.");
        Check(PresencePenalty is >= -2 and <= 2, "presence_penalty", $"presence_penalty must be in [-2, 2], got {PresencePenalty}.");
        Check(FrequencyPenalty is >= -2 and <= 2, "frequency_penalty", $"frequency_penalty must be in [-2, 2], got {FrequencyPenalty}.");
        Check(RepetitionPenalty > 0 && double.IsFinite(RepetitionPenalty), "repetition_penalty", $"repetition_penalty must be greater than zero, got {RepetitionPenalty}.");
        Check(Temperature >= 0 && double.IsFinite(Temperature), "temperature", $"temperature must be non-negative, got {Temperature}.");
        Check(TopP is > 0 and <= 1, "top_p", $"top_p must be in (0, 1], got {TopP}.");
        Check(TopK == -1 || TopK >= 1, "top_k", $"top_k must be -1 (disable) or at least 1, got {TopK}.");
        Check(MinP is >= 0 and <= 1, "min_p", $"min_p must be in [0, 1], got {MinP}.");
        Check(MaxTokens is null or >= 1, "max_tokens", $"max_tokens must be at least 1, got {MaxTokens}.");
        Check(MinTokens >= 0, "min_tokens", $"min_tokens must be greater than or equal to 0, got {MinTokens}.");
        Check(MaxTokens is null || MinTokens <= MaxTokens, "min_tokens", $"min_tokens must be less than or equal to max_tokens={MaxTokens}, got {MinTokens}.");
        Check(Logprobs is null or >= 0, "logprobs", $"logprobs must be non-negative, got {Logprobs}.");
        Check(PromptLogprobs is null or >= 0, "prompt_logprobs", $"prompt_logprobs must be non-negative, got {PromptLogprobs}.");
        foreach (string stop in Stop)
            Check(!string.IsNullOrEmpty(stop), "stop", "stop cannot contain an empty string.");
        foreach (int id in StopTokenIds)
            Check(id >= 0, "stop_token_ids", $"stop_token_ids must be non-negative, got {id}.");
        LogitsProcessorChecks.Validate(this);
        StructuredOutputs?.Validate();
    }

    private static void Check(bool ok, string parameter, string message)
    {
        if (!ok) throw new InvalidRequestException(message, parameter);
    }
}
