using System.Text;
using VllmSharp.Kernels;
using VllmSharp.Runtime.Models;

namespace VllmSharp.Runtime.TestModels;

/// <summary>
/// Deterministic test weights, a pure function of (seed, tensor name, element index), so that the writer, the
/// dummy weight source and any shard layout produce the same bytes on every machine, and any range of a tensor
/// can be generated independently (in parallel).
/// <para>
/// Scheme: key = SplitMix64(seed ^ FNV-1a-64(UTF-8 name)); element i takes z = SplitMix64 finaliser of
/// (key + (i + 1) · 0x9E3779B97F4A7C15) — SplitMix64's own counter-based stream — and u = (z &gt;&gt; 40) · 2⁻²⁴
/// ∈ [0, 1). Embeddings, linear weights, lm_head and biases get (2u − 1) · 0.02·√3: uniform with standard
/// deviation 0.02 (HF's initializer_range). Norm scales are exactly 1.0 (HF init). All float steps are exact or
/// one IEEE rounding, so the values are portable; the dtype conversion rounds to nearest even.
/// </para>
/// </summary>
public static class SeededWeightGenerator
{
    public const double Std = 0.02;
    private static readonly float s_halfWidth = (float)(Std * Math.Sqrt(3.0));
    private const ulong Golden = 0x9E3779B97F4A7C15UL;
    private const int ChunkElements = 1 << 16;
    private const int StackElements = 1024;

    /// <summary>The per-tensor stream key.</summary>
    public static ulong TensorKey(ulong seed, string name)
    {
        ulong h = 0xCBF29CE484222325UL; // FNV-1a 64 offset basis
        foreach (byte b in Encoding.UTF8.GetBytes(name))
        {
            h ^= b;
            h *= 0x100000001B3UL;
        }
        return Mix(seed ^ h);
    }

    /// <summary>Element <paramref name="index"/> of a tensor with the given key and role, as f32.</summary>
    public static float Sample(ulong key, TensorRole role, long index)
    {
        if (role == TensorRole.Norm) return 1.0f;
        ulong z = Mix(key + (ulong)(index + 1) * Golden);
        float u = (z >> 40) * (1.0f / (1 << 24));
        return (u * 2.0f - 1.0f) * s_halfWidth;
    }

    /// <summary>
    /// Writes elements [<paramref name="first"/>, first + count) of tensor <paramref name="spec"/> in
    /// <paramref name="type"/> to <paramref name="dst"/>, using all cores.
    /// </summary>
    public static void Generate(ulong seed, TensorSpec spec, long first, long count, DType type, nint dst)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (count <= 0) return;
        var job = new Job(TensorKey(seed, spec.Name), spec.Role, first, count, type, dst);
        WorkerPool.Shared.For((int)((count + ChunkElements - 1) / ChunkElements), ref job);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private readonly struct Job(ulong key, TensorRole role, long first, long count, DType type, nint dst) : IParallelJob
    {
        public void Execute(int index)
        {
            long start = (long)index * ChunkElements;
            long end = Math.Min(count, start + ChunkElements);
            Span<float> scratch = stackalloc float[StackElements];
            int size = type.SizeInBytes();
            for (long i = start; i < end; i += StackElements)
            {
                Span<float> part = scratch[..(int)Math.Min(StackElements, end - i)];
                for (int j = 0; j < part.Length; j++) part[j] = Sample(key, role, first + i + j);
                DTypeConvert.FromSingle(part, type, dst + (nint)(i * size));
            }
        }
    }
}
