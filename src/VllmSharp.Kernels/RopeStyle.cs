namespace VllmSharp.Kernels;

/// <summary>Which dimensions of a head RoPE rotates together.</summary>
public enum RopeStyle
{
    /// <summary>Pairs (i, i + rotaryDim/2): HF Llama/Qwen "rotate_half", vLLM is_neox_style=True.</summary>
    Neox,

    /// <summary>Pairs (2i, 2i+1): GPT-J, llama.cpp "norm" mode.</summary>
    Interleaved,
}
