using System.Globalization;
using Microsoft.Extensions.Logging;
using VllmSharp.Core.Sampling;

namespace VllmSharp.Server.Logging;

/// <summary>
/// vLLM's per-request log line ("Received request …: prompt: …, params: …"), at Information level, off with
/// --disable-log-requests. The prompt is cut to <see cref="MaxLogLen"/> characters so a huge prompt cannot flood the log.
/// </summary>
public sealed class RequestLogger(ILogger logger)
{
    public const int MaxLogLen = 500;

    public void Received(string requestId, string? prompt, int promptTokens, SamplingParams samplingParams)
    {
        if (!logger.IsEnabled(LogLevel.Information)) return;
        string shown = prompt is null ? "None" : prompt.Length <= MaxLogLen ? prompt : prompt[..MaxLogLen] + "…";
        logger.LogInformation("Received request {RequestId}: prompt: {Prompt}, prompt tokens: {PromptTokens}, params: {Params}",
            requestId, shown, promptTokens, Describe(samplingParams));
    }

    /// <summary>The fields a reader of the log cares about, in vLLM's SamplingParams(...) style.</summary>
    private static string Describe(SamplingParams p) => string.Create(CultureInfo.InvariantCulture,
        $"SamplingParams(n={p.N}, temperature={p.Temperature}, top_p={p.TopP}, top_k={p.TopK}, min_p={p.MinP}, "
      + $"presence_penalty={p.PresencePenalty}, frequency_penalty={p.FrequencyPenalty}, repetition_penalty={p.RepetitionPenalty}, "
      + $"seed={(p.Seed is null ? "None" : p.Seed)}, stop=[{string.Join(", ", p.Stop.Select(s => $"'{s}'"))}], "
      + $"stop_token_ids=[{string.Join(", ", p.StopTokenIds)}], ignore_eos={p.IgnoreEos}, max_tokens={(p.MaxTokens is null ? "None" : p.MaxTokens)}, "
      + $"min_tokens={p.MinTokens})");
}
