using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>The <c>{arch}.*</c> hyper-parameter keys of llama.cpp ↔ <see cref="HfConfig"/>, both directions.</summary>
public static partial class GgufArchitecture
{
    public const string BlockCount = "block_count";
    public const string ContextLength = "context_length";
    public const string EmbeddingLength = "embedding_length";
    public const string FeedForwardLength = "feed_forward_length";
    public const string HeadCount = "attention.head_count";
    public const string HeadCountKv = "attention.head_count_kv";
    public const string RmsEpsilon = "attention.layer_norm_rms_epsilon";
    public const string KeyLength = "attention.key_length";
    public const string ValueLength = "attention.value_length";
    public const string SlidingWindow = "attention.sliding_window";
    public const string RopeFreqBase = "rope.freq_base";
    public const string RopeDimensionCount = "rope.dimension_count";
    public const string RopeScalingType = "rope.scaling.type";
    public const string RopeScalingFactor = "rope.scaling.factor";
    public const string VocabSize = "vocab_size";
    public const string TokensKey = "tokenizer.ggml.tokens";

    // llama.cpp has no keys for HF's "llama3" rope scaling: its converter stores the per-frequency divisors as the
    // rope_freqs.weight tensor instead. Those divisors do not determine the four HF parameters (only their
    // ratios, and with too few frequencies in the blended band not even those), so our writer also stores the
    // parameters under its own prefix, which llama.cpp ignores; files from elsewhere are fitted from the tensor.
    public const string Llama3ScalingPrefix = "vllmsharp.rope_scaling.llama3.";

    /// <summary>
    /// The <see cref="HfConfig"/> of a GGUF model file. Every problem is a <see cref="ModelLoadException"/> naming
    /// the file and the key or tensor at fault.
    /// </summary>
    public static HfConfig ReadConfig(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string path = file.Path;
        string arch = file.TryGet(ArchitectureKey, out string a) ? a
            : throw new ModelLoadException(path, $"metadata key '{ArchitectureKey}' not found: this is not a model file (a vocabulary-only GGUF?)");
        int? slidingWindow = OptionalInt(file, arch, SlidingWindow);
        string hfArch = ToHf(arch, slidingWindow is not null)
            ?? throw new ModelLoadException(path, $"unsupported architecture '{arch}' ({ArchitectureKey}); supported: {string.Join(", ", Supported)}");

        int hidden = RequiredInt(file, arch, EmbeddingLength);
        int heads = RequiredInt(file, arch, HeadCount);
        int kvHeads = OptionalInt(file, arch, HeadCountKv) ?? heads;
        if (kvHeads <= 0 || heads % kvHeads != 0)
            throw new ModelLoadException(path, $"'{arch}.{HeadCount}' ({heads}) is not divisible by '{arch}.{HeadCountKv}' ({kvHeads})");
        int? keyLength = OptionalInt(file, arch, KeyLength);
        if (keyLength is null && hidden % heads != 0)
            throw new ModelLoadException(path, $"'{arch}.{EmbeddingLength}' ({hidden}) is not divisible by '{arch}.{HeadCount}' ({heads}) and '{arch}.{KeyLength}' is not set");
        int headDim = keyLength ?? hidden / heads;
        if (OptionalInt(file, arch, ValueLength) is { } valueLength && valueLength != headDim)
            throw new ModelLoadException(path, $"'{arch}.{ValueLength}' ({valueLength}) differs from the key length ({headDim}); only equal lengths are supported");
        if (OptionalInt(file, arch, RopeDimensionCount) is { } ropeDims && ropeDims != headDim)
            throw new ModelLoadException(path, $"'{arch}.{RopeDimensionCount}' ({ropeDims}) differs from the head size ({headDim}); partial rotary embeddings are not supported");

        int vocab = OptionalInt(file, arch, VocabSize)
            ?? (file.TryGet(TokensKey, out string[] tokens) ? tokens.Length
                : throw new ModelLoadException(path, $"neither '{arch}.{VocabSize}' nor '{TokensKey}' is present: the file has no tokenizer"));
        if (file.TryGet(TokensKey, out string[] tokenList) && tokenList.Length != vocab)
            throw new ModelLoadException(path, $"'{arch}.{VocabSize}' ({vocab}) differs from the {tokenList.Length} entries of '{TokensKey}'");
        double theta = file.TryGet($"{arch}.{RopeFreqBase}", out double t) ? t : 10000;
        var config = new HfConfig
        {
            Architectures = [hfArch],
            ModelType = hfArch == HfConfig.Mistral ? "mistral" : arch,
            HiddenSize = hidden,
            IntermediateSize = RequiredInt(file, arch, FeedForwardLength),
            NumHiddenLayers = RequiredInt(file, arch, BlockCount),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            VocabSize = vocab,
            MaxPositionEmbeddings = RequiredInt(file, arch, ContextLength),
            RmsNormEps = file.TryGet($"{arch}.{RmsEpsilon}", out double eps) ? eps
                : throw new ModelLoadException(path, $"metadata key '{arch}.{RmsEpsilon}' not found"),
            RopeTheta = theta,
            RopeScaling = ReadRopeScaling(file, arch, theta, headDim),
            TieWordEmbeddings = !file.ContainsTensor(ToGgufName(Models.DecoderTensorLayout.LmHead)),
            AttentionBias = file.ContainsTensor("blk.0.attn_q.bias"),
            SlidingWindow = slidingWindow,
            TorchDtype = file.ContainsTensor("token_embd.weight") ? GgufWeightSource.FloatDType(file.GetTensor("token_embd.weight").Type) : null,
            BosTokenId = file.TryGet("tokenizer.ggml.bos_token_id", out int bos) ? bos : null,
            EosTokenIds = file.TryGet("tokenizer.ggml.eos_token_id", out int eos) ? [eos] : [],
            SourcePath = path,
        };
        config.Validate();
        return config;
    }

    /// <summary>The <c>general.architecture</c> and <c>{arch}.*</c> keys llama.cpp reads for <paramref name="c"/>.</summary>
    public static void WriteConfig(GgufWriter writer, HfConfig c)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(c);
        string arch = FromHf(c.Architecture);
        writer.AddMetadata(ArchitectureKey, arch);
        writer.AddMetadata($"{arch}.{VocabSize}", (uint)c.VocabSize);
        writer.AddMetadata($"{arch}.{ContextLength}", (uint)c.MaxPositionEmbeddings);
        writer.AddMetadata($"{arch}.{EmbeddingLength}", (uint)c.HiddenSize);
        writer.AddMetadata($"{arch}.{BlockCount}", (uint)c.NumHiddenLayers);
        writer.AddMetadata($"{arch}.{FeedForwardLength}", (uint)c.IntermediateSize);
        writer.AddMetadata($"{arch}.{HeadCount}", (uint)c.NumAttentionHeads);
        writer.AddMetadata($"{arch}.{HeadCountKv}", (uint)c.NumKeyValueHeads);
        writer.AddMetadata($"{arch}.{KeyLength}", (uint)c.HeadDim);
        writer.AddMetadata($"{arch}.{ValueLength}", (uint)c.HeadDim);
        writer.AddMetadata($"{arch}.{RopeDimensionCount}", (uint)c.HeadDim);
        // llama.cpp reads both as f32; every value our presets use (1e4, 5e5, 1e6; 1e-5, 1e-6) rounds back to the
        // same f32 the model computes with.
        writer.AddMetadata($"{arch}.{RopeFreqBase}", (float)c.RopeTheta);
        writer.AddMetadata($"{arch}.{RmsEpsilon}", (float)c.RmsNormEps);
        if (c.SlidingWindow is { } window) writer.AddMetadata($"{arch}.{SlidingWindow}", (uint)window);
        switch (c.RopeScaling)
        {
            case null: break;
            case { Type: RopeScalingConfig.Linear } s:
                writer.AddMetadata($"{arch}.{RopeScalingType}", "linear");
                writer.AddMetadata($"{arch}.{RopeScalingFactor}", (float)s.Factor);
                break;
            case { Type: RopeScalingConfig.Llama3 } s:
                writer.AddMetadata(Llama3ScalingPrefix + "factor", s.Factor);
                writer.AddMetadata(Llama3ScalingPrefix + "low_freq_factor", s.LowFreqFactor!.Value);
                writer.AddMetadata(Llama3ScalingPrefix + "high_freq_factor", s.HighFreqFactor!.Value);
                writer.AddMetadata(Llama3ScalingPrefix + "original_max_position_embeddings", (uint)s.OriginalMaxPositionEmbeddings!.Value);
                break;
            default: throw new NotSupportedException($"rope_scaling type '{c.RopeScaling.Type}' cannot be written to GGUF");
        }
    }

    /// <summary>
    /// llama.cpp's rope_freqs.weight for HF "llama3" scaling: per frequency, the divisor of ggml's base frequency
    /// (1 for short wavelengths, factor for long ones, blended between), computed as its converter does.
    /// </summary>
    public static float[] Llama3RopeFactors(HfConfig c, RopeScalingConfig s)
    {
        double original = s.OriginalMaxPositionEmbeddings!.Value, low = s.LowFreqFactor!.Value, high = s.HighFreqFactor!.Value;
        double lowWavelen = original / low, highWavelen = original / high;
        var factors = new float[c.HeadDim / 2];
        for (int i = 0; i < factors.Length; i++)
        {
            double wavelen = 2 * Math.PI * Math.Pow(c.RopeTheta, 2.0 * i / c.HeadDim);
            double smooth = (original / wavelen - low) / (high - low);
            factors[i] = (float)(wavelen < highWavelen ? 1 : wavelen > lowWavelen ? s.Factor : 1 / ((1 - smooth) / s.Factor + smooth));
        }
        return factors;
    }

    private static RopeScalingConfig? ReadRopeScaling(GgufFile file, string arch, double theta, int headDim)
    {
        string path = file.Path;
        if (file.TryGet(Llama3ScalingPrefix + "factor", out double factor))
        {
            return new RopeScalingConfig(RopeScalingConfig.Llama3, factor,
                file.Get<double>(Llama3ScalingPrefix + "low_freq_factor"), file.Get<double>(Llama3ScalingPrefix + "high_freq_factor"),
                file.Get<int>(Llama3ScalingPrefix + "original_max_position_embeddings"));
        }
        string type = file.TryGet($"{arch}.{RopeScalingType}", out string ty) ? ty : "none";
        switch (type)
        {
            case "none":
                return file.ContainsTensor(RopeFreqsTensor) ? FitLlama3(file, theta, headDim) : null;
            case "linear":
                double linear = file.TryGet($"{arch}.{RopeScalingFactor}", out double f) ? f : 1;
                return linear == 1 ? null : new RopeScalingConfig(RopeScalingConfig.Linear, linear);
            default:
                throw new ModelLoadException(path, $"'{arch}.{RopeScalingType}' is '{type}'; supported: none, linear (and llama3 via {RopeFreqsTensor})");
        }
    }

    /// <summary>
    /// Recovers HF llama3 parameters from llama.cpp's rope_freqs.weight: factor from the longest wavelength, and,
    /// with low_freq_factor fixed at 1 (only ratios matter), original length and high_freq_factor from a line fit
    /// of the blend in the middle band. Refused (rather than guessed) when the band has fewer than two points or
    /// the fit does not reproduce the tensor.
    /// </summary>
    private static RopeScalingConfig? FitLlama3(GgufFile file, double theta, int headDim)
    {
        GgufTensorInfo info = file.GetTensor(RopeFreqsTensor);
        if (info.Type != GgmlType.F32 || info.Dims.Length != 1 || info.Dims[0] != headDim / 2)
            throw new ModelLoadException(file.Path, $"tensor '{RopeFreqsTensor}' is {info.Type} {info.DimsText}, expected F32 [{headDim / 2}]");
        var factors = new float[headDim / 2];
        DTypeConvert.ToSingle(info.Data, DType.F32, factors);
        float max = factors[^1];
        if (Array.TrueForAll(factors, x => x == 1f)) return null;
        double sumX = 0, sumY = 0, sumXX = 0, sumXY = 0;
        int n = 0;
        for (int i = 0; i < factors.Length; i++)
        {
            if (Math.Abs(factors[i] - 1) < 1e-6 || Math.Abs(factors[i] - max) < 1e-6 * max) continue;
            double x = Math.Pow(theta, -2.0 * i / headDim) / (2 * Math.PI); // 1 / wavelength
            double smooth = (1.0 / factors[i] - 1.0 / max) / (1 - 1.0 / max);
            sumX += x; sumY += smooth; sumXX += x * x; sumXY += x * smooth; n++;
        }
        double det = n * sumXX - sumX * sumX;
        if (n < 2 || det == 0)
            throw new ModelLoadException(file.Path, $"tensor '{RopeFreqsTensor}' has {n} blended frequencies; llama3 rope scaling cannot be recovered from fewer than 2");
        double slope = (n * sumXY - sumX * sumY) / det, intercept = (sumY - slope * sumX) / n; // smooth = slope·x + intercept
        double high = 1 - 1 / intercept; // intercept = −low/(high − low) with low = 1
        var fitted = new RopeScalingConfig(RopeScalingConfig.Llama3, max, 1, Math.Round(high, 6), (int)Math.Round(slope * (high - 1)));
        float[] check = Llama3RopeFactors(new HfConfig { RopeTheta = theta, HeadDim = headDim }, fitted);
        for (int i = 0; i < check.Length; i++)
            if (Math.Abs(check[i] - factors[i]) > 1e-3 * factors[i])
                throw new ModelLoadException(file.Path, $"tensor '{RopeFreqsTensor}' does not follow llama3 rope scaling (frequency {i}: {factors[i]}, fit {check[i]})");
        return fitted;
    }

    private static int RequiredInt(GgufFile file, string arch, string key) =>
        OptionalInt(file, arch, key) ?? throw new ModelLoadException(file.Path, $"metadata key '{arch}.{key}' not found");

    private static int? OptionalInt(GgufFile file, string arch, string key)
    {
        string full = $"{arch}.{key}";
        if (!file.TryGet(full, out long value)) return null;
        if (value is <= 0 or > int.MaxValue)
            throw new ModelLoadException(file.Path, $"metadata key '{full}' is {value}, expected a positive 32-bit count");
        return (int)value;
    }
}
