using System.Globalization;
using System.Runtime.InteropServices;
using VllmSharp.Runtime;
using VllmSharp.Runtime.Models;

namespace VllmSharp.ParityDump;

/// <summary>
/// Runs VllmSharp on seeded random token ids as one prefill and writes the logits of every position, the same
/// request llamacpp-parity makes of llama.cpp. Random ids (not text) keep the two tokenizers out of the comparison.
/// </summary>
public static class LogitsDump
{
    private const int BlockSize = 16;

    public static int Run(string modelPath, string tokensPath, string logitsPath, int count, int seed, TextWriter log)
    {
        using ICausalLM model = ModelLoader.Load(modelPath);
        int[] tokens = MakeTokens(model.VocabSize, model.Config.BosTokenId, count, seed);
        File.WriteAllText(tokensPath, string.Join(' ', Array.ConvertAll(tokens, t => t.ToString(CultureInfo.InvariantCulture))) + "\n");

        int blocks = (tokens.Length + BlockSize - 1) / BlockSize;
        var cache = new KVCacheTensors(model.NumLayers, blocks, BlockSize, model.NumKvHeads, model.HeadDim);
        var batch = new ForwardBatch(tokens.Length, 1, blocks);
        int[] blockTable = new int[blocks];
        for (int b = 0; b < blocks; b++) blockTable[b] = b;
        batch.AddSequence(tokens, 0, blockTable, BlockSize, computeLogits: false);
        for (int row = 0; row < tokens.Length; row++) batch.AddLogitsIndex(row);
        ReadOnlySpan<float> logits = model.Forward(batch, cache);
        if (logits.Length != tokens.Length * model.VocabSize)
            throw new InvalidDataException($"expected {tokens.Length} × {model.VocabSize} logits, got {logits.Length}");

        using (FileStream file = File.Create(logitsPath))
            file.Write(MemoryMarshal.AsBytes(logits));
        log.WriteLine($"n_tokens={tokens.Length} n_vocab={model.VocabSize} dtype={model.DType} arch={model.Config.Architecture}");
        return 0;
    }

    /// <summary>BOS (when the model names one) then <paramref name="count"/> ids drawn uniformly from the vocabulary.</summary>
    public static int[] MakeTokens(int vocabSize, int? bos, int count, int seed)
    {
        var random = new Random(seed);
        bool withBos = bos is int b && b >= 0 && b < vocabSize;
        int[] tokens = new int[count + (withBos ? 1 : 0)];
        int start = 0;
        if (withBos) tokens[start++] = bos!.Value;
        for (int i = start; i < tokens.Length; i++) tokens[i] = random.Next(vocabSize);
        return tokens;
    }
}
