using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Models;

/// <summary>Llama 2/3 (HF <c>LlamaForCausalLM</c>): the plain decoder.</summary>
public sealed class LlamaForCausalLM(HfConfig config, IWeightSource weights)
    : DecoderForCausalLM(config, weights, new ArchitectureTraits(QkNorm: false, RopeStyle.Neox));
