using VllmSharp.Core.Outputs;

namespace VllmSharp.Engine;

/// <summary>What metrics need when a request finishes: its final output (times, finish reasons) and token totals.</summary>
public sealed record RequestFinishedInfo(RequestOutput Final, int PromptTokens, int GenerationTokens);
