using VllmSharp.Core.Errors;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.StructuredOutput;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.Core;

/// <summary>A prompt as text or as token ids (vLLM's TextPrompt / TokensPrompt).</summary>
public readonly record struct PromptInput(string? Text, IReadOnlyList<int>? TokenIds)
{
    public static implicit operator PromptInput(string text) => new(text, null);
    public static PromptInput FromTokens(IReadOnlyList<int> tokenIds) => new(null, tokenIds);
}

/// <summary>A user request turned into engine requests: one per completion (n), all sharing the prompt.</summary>
public sealed record ProcessedRequest(string RequestId, string? Prompt, IReadOnlyList<int> PromptTokenIds, SamplingParams Params,
    double ArrivalTime, IReadOnlyList<Request> Children);

/// <summary>
/// vLLM's Processor: validates sampling params, tokenizes, checks the length against max_model_len, caps
/// max_tokens, and fans a request with n &gt; 1 out into n engine requests (ids "i_requestId").
/// </summary>
public sealed class InputProcessor
{
    private readonly ITokenizer _tokenizer;
    private readonly int _maxModelLen;
    private readonly int _blockSize;
    private readonly int _vocabSize;

    /// <param name="vocabSize">Prompt token ids must be below this (the smaller of the tokenizer's and the model's vocabulary).</param>
    public InputProcessor(ITokenizer tokenizer, int maxModelLen, int blockSize, int vocabSize)
    {
        _tokenizer = tokenizer;
        _vocabSize = vocabSize;
        _maxModelLen = maxModelLen;
        _blockSize = blockSize;
    }

    public ProcessedRequest Process(string requestId, PromptInput prompt, SamplingParams samplingParams, double arrivalTime, int priority = 0)
    {
        samplingParams.Validate();
        // Compiled now so a bad schema or regex is a 400 at arrival; the model runner reuses the cached result.
        if (samplingParams.StructuredOutputs is { } constraint) StructuredOutputManager.For(_tokenizer).Compile(constraint);
        IReadOnlyList<int> ids = prompt.TokenIds ?? _tokenizer.Encode(prompt.Text ?? "", addSpecialTokens: true);
        if (ids.Count == 0) throw new InvalidRequestException("The prompt is empty.", "prompt");
        foreach (int id in ids)
            if ((uint)id >= (uint)_vocabSize)
                throw new InvalidRequestException($"Token id {id} is out of vocabulary (size {_vocabSize}).", "prompt");
        if (ids.Count >= _maxModelLen)
            throw new ContextLengthExceededException(
                $"The prompt has {ids.Count} tokens, but the model's maximum context length is {_maxModelLen} tokens (prompt plus at least one generated token).");
        int maxTokens = Math.Min(samplingParams.MaxTokens ?? int.MaxValue, _maxModelLen - ids.Count);

        var children = new Request[samplingParams.N];
        for (int i = 0; i < children.Length; i++)
        {
            string childId = samplingParams.N == 1 ? requestId : $"{i}_{requestId}";
            // As vLLM's parallel sampling: each child samples once, and a seeded request seeds child i with seed + i.
            SamplingParams childParams = samplingParams.N == 1 ? samplingParams
                : samplingParams with { N = 1, Seed = samplingParams.Seed + i };
            children[i] = new Request(childId, ids, childParams, maxTokens, _tokenizer.EosTokenIds, _blockSize, arrivalTime, priority);
        }
        return new ProcessedRequest(requestId, prompt.Text, ids, samplingParams, arrivalTime, children);
    }
}
