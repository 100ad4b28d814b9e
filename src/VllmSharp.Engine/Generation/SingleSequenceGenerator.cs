using System.Diagnostics;
using VllmSharp.Kernels;
using VllmSharp.Runtime;
using VllmSharp.Runtime.Models;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.Generation;

/// <summary>
/// Runs one prompt through the model runner API (prefill as one flattened batch, then one decode token per
/// step over the paged KV cache) — the path <c>vllmsharp generate</c> takes until the continuous-batching
/// scheduler arrives. Blocks are laid out 0..n-1 for the single sequence.
/// </summary>
public sealed class SingleSequenceGenerator
{
    public const int BlockSize = 16;

    private readonly ICausalLM _model;
    private readonly ITokenizer _tokenizer;

    public SingleSequenceGenerator(ICausalLM model, ITokenizer tokenizer)
    {
        _model = model;
        _tokenizer = tokenizer;
    }

    /// <summary>
    /// Generates up to <paramref name="maxTokens"/> tokens after <paramref name="prompt"/>, calling
    /// <paramref name="onText"/> with each new piece of text. Temperature 0 is greedy; otherwise tokens are
    /// sampled from softmax(logits / temperature) with a generator seeded by <paramref name="seed"/>.
    /// Stops at an end-of-sequence token.
    /// </summary>
    public GenerationStats Generate(string prompt, int maxTokens, double temperature, int seed, Action<string> onText)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(temperature);
        int[] promptIds = [.. _tokenizer.Encode(prompt, addSpecialTokens: true)];
        if (promptIds.Length == 0) throw new ArgumentException("The prompt encodes to no tokens.", nameof(prompt));
        int maxLen = Math.Min(_model.Config.MaxPositionEmbeddings, promptIds.Length + maxTokens);
        if (promptIds.Length >= maxLen)
            throw new ArgumentException($"The prompt has {promptIds.Length} tokens; the model's maximum length is {_model.Config.MaxPositionEmbeddings}.", nameof(prompt));

        int numBlocks = (maxLen + BlockSize - 1) / BlockSize;
        var cache = new KVCacheTensors(_model.NumLayers, numBlocks, BlockSize, _model.NumKvHeads, _model.HeadDim);
        int[] blockTable = new int[numBlocks];
        for (int i = 0; i < numBlocks; i++) blockTable[i] = i;
        var batch = new ForwardBatch(promptIds.Length, maxNumSeqs: 1, numBlocks);
        var detokenizer = new IncrementalDetokenizer(_tokenizer, skipSpecialTokens: true);
        var random = new Random(seed);
        var eos = new HashSet<int>(_tokenizer.EosTokenIds);

        var clock = Stopwatch.StartNew();
        batch.AddSequence(promptIds, 0, blockTable, BlockSize, computeLogits: true);
        int token = Sample(_model.Forward(batch, cache), temperature, random);
        TimeSpan promptTime = clock.Elapsed;

        int generated = 1, length = promptIds.Length;
        Span<int> one = stackalloc int[1];
        while (true)
        {
            if (eos.Contains(token)) break;
            onText(detokenizer.Add(token));
            if (generated == maxTokens || length + 1 >= maxLen) break;
            one[0] = token;
            batch.Clear();
            batch.AddSequence(one, length, blockTable, BlockSize, computeLogits: true);
            token = Sample(_model.Forward(batch, cache), temperature, random);
            length++;
            generated++;
        }
        onText(detokenizer.Flush());
        return new GenerationStats(promptIds.Length, promptTime, generated, clock.Elapsed - promptTime);
    }

    private static int Sample(ReadOnlySpan<float> logits, double temperature, Random random)
    {
        if (temperature == 0) return ArgMax.Find(logits);
        float[] probs = new float[logits.Length];
        float inv = (float)(1 / temperature);
        for (int i = 0; i < probs.Length; i++) probs[i] = logits[i] * inv;
        Softmax.Forward(probs);
        double u = random.NextDouble(), cumulative = 0;
        for (int i = 0; i < probs.Length; i++)
        {
            cumulative += probs[i];
            if (u < cumulative) return i;
        }
        return ArgMax.Find(logits); // rounding left u above the total: take the most likely token
    }
}
