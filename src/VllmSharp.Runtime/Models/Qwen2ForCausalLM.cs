using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Models;

/// <summary>Qwen2/Qwen2.5 (HF <c>Qwen2ForCausalLM</c>): Llama's layers with q/k/v biases (config <c>attention_bias</c>, on for this architecture).</summary>
public sealed class Qwen2ForCausalLM(HfConfig config, IWeightSource weights)
    : DecoderForCausalLM(config, weights, new ArchitectureTraits(QkNorm: false, RopeStyle.Neox));
