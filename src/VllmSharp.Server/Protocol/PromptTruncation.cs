using VllmSharp.Core.Errors;

namespace VllmSharp.Server.Protocol;

/// <summary>vLLM's <c>truncate_prompt_tokens</c>: keeps only the last k tokens of a tokenized prompt.</summary>
public static class PromptTruncation
{
    /// <summary>
    /// The last <paramref name="truncate"/> tokens of <paramref name="tokens"/> (-1: the last max_model_len), or the
    /// tokens unchanged when <paramref name="truncate"/> is null or not shorter.
    /// </summary>
    public static IReadOnlyList<int> Apply(IReadOnlyList<int> tokens, int? truncate, int maxModelLen)
    {
        if (truncate is not int k) return tokens;
        if (k == -1) k = maxModelLen;
        if (k < 1) throw new InvalidRequestException($"truncate_prompt_tokens must be -1 or at least 1, got {truncate}.", "truncate_prompt_tokens");
        if (k > maxModelLen)
            throw new InvalidRequestException($"truncate_prompt_tokens value ({k}) is greater than max_model_len ({maxModelLen}). Please select a smaller truncation size.", "truncate_prompt_tokens");
        if (tokens.Count <= k) return tokens;
        var kept = new int[k];
        for (int i = 0; i < k; i++) kept[i] = tokens[tokens.Count - k + i];
        return kept;
    }
}
