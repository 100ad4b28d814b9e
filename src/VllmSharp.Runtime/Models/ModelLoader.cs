using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Models;

/// <summary>Opens a model folder as vLLM's loader does: config.json, then weights in the requested dtype.</summary>
public static class ModelLoader
{
    public static readonly string[] LoadFormats = ["auto", "safetensors", "dummy"];

    /// <param name="modelDir">An HF model folder.</param>
    /// <param name="dtype">vLLM's <c>--dtype</c>: auto, half, float16, bfloat16, float, float32.</param>
    /// <param name="loadFormat">vLLM's <c>--load-format</c>: auto/safetensors read the checkpoint, dummy makes random weights.</param>
    /// <param name="seed">Seed of the dummy weights.</param>
    public static ICausalLM Load(string modelDir, string dtype = "auto", string loadFormat = "auto", ulong seed = 0)
    {
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
