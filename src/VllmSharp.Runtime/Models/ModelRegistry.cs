using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Models;

/// <summary>Maps the HF <c>architectures</c> name of a config to the class that runs it (vLLM's ModelRegistry).</summary>
public static class ModelRegistry
{
    private static readonly Dictionary<string, Func<HfConfig, IWeightSource, ICausalLM>> s_models = new()
    {
        ["LlamaForCausalLM"] = (c, w) => new LlamaForCausalLM(c, w),
        ["MistralForCausalLM"] = (c, w) => new MistralForCausalLM(c, w),
        ["Qwen2ForCausalLM"] = (c, w) => new Qwen2ForCausalLM(c, w),
        ["Qwen3ForCausalLM"] = (c, w) => new Qwen3ForCausalLM(c, w),
    };

    public static IReadOnlyCollection<string> SupportedArchitectures => s_models.Keys;

    public static bool IsSupported(string architecture) => s_models.ContainsKey(architecture);

    /// <summary>Builds the model for <paramref name="config"/> from <paramref name="weights"/>; the model owns the source.</summary>
    public static ICausalLM Create(HfConfig config, IWeightSource weights)
    {
        if (!s_models.TryGetValue(config.Architecture, out var create))
            throw new NotSupportedException($"Architecture '{config.Architecture}' is not supported (supported: {string.Join(", ", s_models.Keys)}).");
        return create(config, weights);
    }
}
