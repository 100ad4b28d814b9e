using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Models;

/// <summary>What sets one Llama-style architecture apart from another (the config supplies the rest).</summary>
/// <param name="QkNorm">Per-head RMSNorm of queries and keys before RoPE (Qwen3).</param>
/// <param name="RopeStyle">How RoPE pairs dimensions: HF checkpoints use the NeoX halves layout.</param>
public sealed record ArchitectureTraits(bool QkNorm, RopeStyle RopeStyle);
