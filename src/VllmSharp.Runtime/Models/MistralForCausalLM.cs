using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Models;

/// <summary>Mistral (HF <c>MistralForCausalLM</c>): Llama's layers; the config may set a sliding attention window.</summary>
public sealed class MistralForCausalLM(HfConfig config, IWeightSource weights)
    : DecoderForCausalLM(config, weights, new ArchitectureTraits(QkNorm: false, RopeStyle.Neox));
