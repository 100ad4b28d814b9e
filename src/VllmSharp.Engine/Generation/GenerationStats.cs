namespace VllmSharp.Engine.Generation;

/// <summary>Token counts and timings of one generation, for the tokens/s lines users expect.</summary>
public sealed record GenerationStats(int PromptTokens, TimeSpan PromptTime, int GeneratedTokens, TimeSpan DecodeTime)
{
    public double PromptTokensPerSecond => PromptTokens / Math.Max(PromptTime.TotalSeconds, 1e-9);

    /// <summary>Decode speed over the tokens after the first (the first comes out of the prefill step).</summary>
    public double GenerationTokensPerSecond => Math.Max(GeneratedTokens - 1, 0) / Math.Max(DecodeTime.TotalSeconds, 1e-9);
}
