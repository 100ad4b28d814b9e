using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Loading.Gguf;

namespace VllmSharp.Runtime.Models;

/// <summary>
/// Opens a model as vLLM's loader does: an HF folder (config.json, then weights in the requested dtype) or a GGUF
/// file (config from its metadata, weights used in place in their stored types).
/// </summary>
public static class ModelLoader
{
    public static readonly string[] LoadFormats = ["auto", "safetensors", "gguf", "dummy"];

    /// <summary>True when <paramref name="modelPath"/> names a GGUF model: an existing file, or any path ending in .gguf.</summary>
    public static bool IsGgufPath(string modelPath) =>
        modelPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) || File.Exists(modelPath);

    /// <param name="modelDir">An HF model folder, or a .gguf file.</param>
    /// <param name="dtype">vLLM's <c>--dtype</c>: auto, half, float16, bfloat16, float, float32. For GGUF, auto keeps the stored types.</param>
    /// <param name="loadFormat">vLLM's <c>--load-format</c>: auto/safetensors/gguf read the checkpoint, dummy makes random weights.</param>
    /// <param name="seed">Seed of the dummy weights.</param>
    public static ICausalLM Load(string modelDir, string dtype = "auto", string loadFormat = "auto", ulong seed = 0)
    {
        if (Array.IndexOf(LoadFormats, loadFormat) < 0)
            throw new ArgumentException($"Invalid --load-format '{loadFormat}'; choose one of: {string.Join(", ", LoadFormats)}.");
        if (loadFormat == "gguf" || (loadFormat != "safetensors" && IsGgufPath(modelDir)))
            return LoadGguf(modelDir, dtype, loadFormat, seed);
        if (!Directory.Exists(modelDir))
            throw new ModelLoadException(modelDir, "model folder not found");
        HfConfig config = HfConfig.Load(Path.Combine(modelDir, "config.json"));
        config.Validate();
        if (!ModelRegistry.IsSupported(config.Architecture))
            throw new ModelLoadException(Path.Combine(modelDir, "config.json"),
                $"architecture '{config.Architecture}' is not supported (supported: {string.Join(", ", ModelRegistry.SupportedArchitectures)})");
        DType runType = DTypeResolver.Resolve(dtype, config.TorchDtype);

        IWeightSource weights = loadFormat switch
        {
            "auto" or "safetensors" => SafetensorsWeightSource.Open(modelDir, runType),
            "dummy" => new DummyWeightSource(config, runType, seed),
            _ => throw new ArgumentException($"Invalid --load-format '{loadFormat}'; choose one of: {string.Join(", ", LoadFormats)}."),
        };
        return Create(config, weights);
    }

    private static ICausalLM LoadGguf(string path, string dtype, string loadFormat, ulong seed)
    {
        if (Directory.Exists(path)) throw new ModelLoadException(path, "--load-format gguf needs the path of a .gguf file, not a folder");
        if (!File.Exists(path)) throw new ModelLoadException(path, "GGUF file not found");
        // auto keeps what the file stores, as llama.cpp runs it; an explicit float dtype converts float matrices.
        DType? runType = dtype.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : DTypeResolver.Resolve(dtype, null);
        GgufWeightSource source = GgufWeightSource.Open(path, runType);
        if (loadFormat != "dummy") return Create(source.Config, source);
        HfConfig config = source.Config;
        source.Dispose();
        return Create(config, new DummyWeightSource(config, runType ?? DType.F16, seed));
    }

    private static ICausalLM Create(HfConfig config, IWeightSource weights)
    {
        try
        {
            return ModelRegistry.Create(config, weights);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }
}
