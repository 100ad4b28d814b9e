using System.Runtime.Intrinsics;

namespace VllmSharp.Kernels;

/// <summary>Gated MLP activations.</summary>
public static unsafe class Activations
{
    // Large prefill batches (tokens × intermediate) are split into chunks of this size across cores.
    private const int ChunkSize = 16 * 1024;

    /// <summary>y = silu(gate) · up = gate · sigmoid(gate) · up, element-wise. y may alias gate or up.</summary>
    public static void SiluAndMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        if (up.Length != gate.Length)
            throw new ArgumentException($"up has {up.Length} elements but gate has {gate.Length}.", nameof(up));
        if (y.Length != gate.Length)
            throw new ArgumentException($"y has {y.Length} elements but gate has {gate.Length}.", nameof(y));
        fixed (float* pg = gate, pu = up, py = y)
        {
            var job = new SiluJob { Gate = pg, Up = pu, Y = py, Length = gate.Length };
            int chunks = (gate.Length + ChunkSize - 1) / ChunkSize;
            if (chunks > 1) WorkerPool.Shared.For(chunks, ref job);
            else if (chunks == 1) job.Execute(0);
        }
    }

    private struct SiluJob : IParallelJob
    {
        public float* Gate, Up, Y;
        public int Length;

        public readonly void Execute(int index)
        {
            int start = index * ChunkSize;
            SiluAndMulRange(Gate + start, Up + start, Y + start, Math.Min(ChunkSize, Length - start));
        }
    }

    // g / (1 + exp(−g)) rather than g · sigmoid(g): one division, and exp overflow to +∞ gives −0 instead of NaN.
    private static void SiluAndMulRange(float* gate, float* up, float* y, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> one = Vector512<float>.One;
            for (; i <= n - 16; i += 16)
            {
                Vector512<float> g = Vector512.Load(gate + i);
                (g / (one + Vector512.Exp(-g)) * Vector512.Load(up + i)).Store(y + i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> one = Vector256<float>.One;
            for (; i <= n - 8; i += 8)
            {
                Vector256<float> g = Vector256.Load(gate + i);
                (g / (one + Vector256.Exp(-g)) * Vector256.Load(up + i)).Store(y + i);
            }
        }
        for (; i < n; i++)
        {
            float g = gate[i];
            y[i] = g / (1f + MathF.Exp(-g)) * up[i];
        }
    }
}
