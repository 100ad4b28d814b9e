namespace VllmSharp.Kernels;

/// <summary>
/// HF transformers' <c>rope_scaling</c> of type "llama3" (Llama 3.1+): low frequencies are divided by
/// <see cref="Factor"/>, high frequencies are kept, and the band between is interpolated smoothly.
/// </summary>
public readonly record struct Llama3RopeScaling(float Factor, float LowFreqFactor, float HighFreqFactor, int OriginalMaxPositionEmbeddings);
