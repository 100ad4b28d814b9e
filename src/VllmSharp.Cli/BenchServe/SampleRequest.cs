namespace VllmSharp.Cli.BenchServe;

/// <summary>One benchmark request: the prompt text, its length in tokens and how many tokens to ask for (vLLM's SampleRequest).</summary>
public sealed record SampleRequest(string Prompt, int PromptLen, int ExpectedOutputLen);
