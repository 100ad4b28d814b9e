namespace VllmSharp.Server.Protocol;

/// <summary>OpenAI's <c>usage</c> object.</summary>
public sealed record UsageInfo(int PromptTokens, int CompletionTokens, int TotalTokens);
