using VllmSharp.Core.Config;
using VllmSharp.Core.KVCache;
using VllmSharp.Core.Scheduling;
using VllmSharp.Engine.StructuredOutput;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Models;

namespace VllmSharp.Engine.Core;

/// <summary>An engine core ready to run, with what the frontends need to feed it.</summary>
public sealed record LoadedEngine(EngineCore Core, ITokenizer Tokenizer, string ModelPath, int MaxModelLen, int BlockSize, int ModelVocabSize) : IDisposable
{
    /// <summary>Prompt ids must be below both the tokenizer's and the model's vocabulary (the embedding's rows).</summary>
    public int PromptVocabSize => Math.Min(Tokenizer.VocabSize, ModelVocabSize);

    public void Dispose() => Core.Dispose();
}

/// <summary>Builds an engine from <see cref="EngineArgs"/>: model, tokenizer, KV cache sized from the memory budget.</summary>
public static class EngineFactory
{
    public static LoadedEngine Create(EngineArgs args, Action<string>? log = null)
    {
        string modelPath = args.Model is null ? DefaultModel.EnsureCreated(log) : Path.GetFullPath(args.Model);
        ITokenizer tokenizer = LoadTokenizer(modelPath, args.LoadFormat);
        _ = StructuredOutputManager.Prewarm(tokenizer); // vocabulary trie built in the background while the model loads
        ICausalLM model = ModelLoader.Load(modelPath, args.Dtype, args.LoadFormat, (ulong)args.Seed);
        try
        {
            CheckTokenizerFitsModel(modelPath, tokenizer, model);
            int maxModelLen = args.MaxModelLen ?? model.Config.MaxPositionEmbeddings;
            if (maxModelLen > model.Config.MaxPositionEmbeddings)
                throw new ArgumentException($"--max-model-len {maxModelLen} is larger than the model's max_position_embeddings ({model.Config.MaxPositionEmbeddings}).");
            SchedulerConfig schedulerConfig = args.ToSchedulerConfig(maxModelLen);
            schedulerConfig.Validate();

            long budget = args.KvCacheMemory is null ? KVCacheBudget.DefaultBytes() : KVCacheBudget.ParseBytes(args.KvCacheMemory);
            long bytesPerBlock = KVCacheTensors.BytesPerBlock(model.NumLayers, args.BlockSize, model.NumKvHeads, model.HeadDim);
            int numBlocks = KVCacheBudget.NumBlocks(budget, bytesPerBlock, args.BlockSize, maxModelLen);
            log?.Invoke($"KV cache: {numBlocks} blocks of {args.BlockSize} tokens = {(long)numBlocks * args.BlockSize} tokens "
                      + $"({numBlocks * bytesPerBlock / (1024.0 * 1024 * 1024):F2} GiB); max_model_len {maxModelLen}, "
                      + $"maximum concurrency at that length {(double)numBlocks * args.BlockSize / maxModelLen:F1}x");

            var kvCacheManager = new KVCacheManager(numBlocks, args.BlockSize, args.EnablePrefixCaching);
            var scheduler = new Scheduler(schedulerConfig, kvCacheManager);
            var runner = new ModelRunner(model, numBlocks, args.BlockSize, schedulerConfig, args.Seed, tokenizer);
            return new LoadedEngine(new EngineCore(scheduler, runner), tokenizer, modelPath, maxModelLen, args.BlockSize, model.VocabSize);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The tokenizer of a model: the one embedded in a GGUF file's metadata, else the HF tokenizer files of the
    /// folder. A GGUF without a usable tokenizer is a broken model file, reported as such.
    /// </summary>
    public static ITokenizer LoadTokenizer(string modelPath, string loadFormat = "auto")
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        bool gguf = loadFormat == "gguf" || (loadFormat != "safetensors" && ModelLoader.IsGgufPath(modelPath));
        if (!gguf) return HfTokenizer.Load(modelPath);
        if (!File.Exists(modelPath)) throw new ModelLoadException(modelPath, "GGUF file not found");
        try
        {
            return GgufTokenizer.Load(modelPath);
        }
        catch (TokenizerLoadException e)
        {
            throw new ModelLoadException(modelPath, "no usable tokenizer in the GGUF metadata: " + e.Message, e);
        }
    }

    /// <summary>llama.cpp refuses a GGUF whose token count differs from the embedding's rows; so do we (ids past either would fail later).</summary>
    private static void CheckTokenizerFitsModel(string modelPath, ITokenizer tokenizer, ICausalLM model)
    {
        if (tokenizer is GgufTokenizer && tokenizer.VocabSize != model.VocabSize)
            throw new ModelLoadException(modelPath,
                $"'tokenizer.ggml.tokens' has {tokenizer.VocabSize} tokens but 'token_embd.weight' has {model.VocabSize} rows");
    }
}
