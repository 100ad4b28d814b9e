using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Models;

/// <summary>Qwen3 (HF <c>Qwen3ForCausalLM</c>): Llama's layers with a per-head RMSNorm on queries and keys and no q/k/v bias.</summary>
public sealed class Qwen3ForCausalLM(HfConfig config, IWeightSource weights)
    : DecoderForCausalLM(config, weights, new ArchitectureTraits(QkNorm: true, RopeStyle.Neox));
