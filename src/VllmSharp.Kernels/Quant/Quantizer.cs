using System.Buffers.Binary;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// Converts f32 rows to and from ggml block formats. Q8_0 and Q4_0 follow llama.cpp's reference quantizers
/// (round-to-nearest from the block's absolute maximum), except that the element codes are computed from the
/// f16-rounded scale actually stored, so the per-element error bound holds for the stored block. The K-quants use
/// the range-covering search described on <see cref="KQuantizer"/>.
/// </summary>
public static class Quantizer
{
    public static void Quantize(ReadOnlySpan<float> src, QuantType type, Span<byte> dst)
    {
        int block = QuantFormat.BlockElements(type), bytes = QuantFormat.BlockBytes(type);
        if (src.Length % block != 0)
            throw new ArgumentException($"{type} needs a multiple of {block} values, got {src.Length}.", nameof(src));
        int blocks = src.Length / block;
        if (dst.Length < (long)blocks * bytes)
            throw new ArgumentException($"dst needs {(long)blocks * bytes} bytes for {src.Length} {type} values, has {dst.Length}.", nameof(dst));
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * block, block);
            Span<byte> o = dst.Slice(b * bytes, bytes);
            switch (type)
            {
                case QuantType.Q8_0: QuantizeQ8_0(x, o); break;
                case QuantType.Q4_0: QuantizeQ4_0(x, o); break;
                case QuantType.Q4_K: KQuantizer.QuantizeQ4_K(x, o); break;
                case QuantType.Q5_0: QuantizeQ5_0(x, o); break;
                default: KQuantizer.QuantizeQ6_K(x, o); break;
            }
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, QuantType type, Span<float> dst)
    {
        int block = QuantFormat.BlockElements(type), bytes = QuantFormat.BlockBytes(type);
        if (dst.Length % block != 0)
            throw new ArgumentException($"{type} produces a multiple of {block} values, dst holds {dst.Length}.", nameof(dst));
        int blocks = dst.Length / block;
        if (src.Length < (long)blocks * bytes)
            throw new ArgumentException($"src needs {(long)blocks * bytes} bytes for {dst.Length} {type} values, has {src.Length}.", nameof(src));
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> q = src.Slice(b * bytes, bytes);
            Span<float> y = dst.Slice(b * block, block);
            switch (type)
            {
                case QuantType.Q8_0: DequantizeQ8_0(q, y); break;
                case QuantType.Q4_0: DequantizeQ4_0(q, y); break;
                case QuantType.Q4_K: KQuantizer.DequantizeQ4_K(q, y); break;
                case QuantType.Q5_0: DequantizeQ5_0(q, y); break;
                default: KQuantizer.DequantizeQ6_K(q, y); break;
            }
        }
    }

    private static void QuantizeQ8_0(ReadOnlySpan<float> x, Span<byte> o)
    {
        float amax = 0;
        foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
        HalfBits.Write(o, 0, amax / 127f);
        float d = HalfBits.Read(o, 0);
        float id = d != 0 ? 1f / d : 0f;
        for (int i = 0; i < 32; i++)
            o[2 + i] = (byte)(sbyte)Math.Clamp((int)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero), -127, 127);
    }

    private static void DequantizeQ8_0(ReadOnlySpan<byte> q, Span<float> y)
    {
        float d = HalfBits.Read(q, 0);
        for (int i = 0; i < 32; i++) y[i] = (sbyte)q[2 + i] * d;
    }

    private static void QuantizeQ4_0(ReadOnlySpan<float> x, Span<byte> o)
    {
        // As llama.cpp: the signed value of largest magnitude maps to code 0, so all 16 codes are usable.
        float amax = 0, max = 0;
        foreach (float v in x)
        {
            if (MathF.Abs(v) > amax) { amax = MathF.Abs(v); max = v; }
        }
        HalfBits.Write(o, 0, max / -8f);
        float d = HalfBits.Read(o, 0);
        float id = d != 0 ? 1f / d : 0f;
        for (int i = 0; i < 16; i++)
        {
            int lo = Math.Clamp((int)(x[i] * id + 8.5f), 0, 15);
            int hi = Math.Clamp((int)(x[i + 16] * id + 8.5f), 0, 15);
            o[2 + i] = (byte)(lo | hi << 4);
        }
    }

    private static void DequantizeQ4_0(ReadOnlySpan<byte> q, Span<float> y)
    {
        float d = HalfBits.Read(q, 0);
        for (int i = 0; i < 16; i++)
        {
            y[i] = ((q[2 + i] & 0xF) - 8) * d;
            y[i + 16] = ((q[2 + i] >> 4) - 8) * d;
        }
    }

    private static void QuantizeQ5_0(ReadOnlySpan<float> x, Span<byte> o)
    {
        // As llama.cpp: the signed value of largest magnitude maps to code 0 (d = max / −16), codes 0..31.
        float amax = 0, max = 0;
        foreach (float v in x)
        {
            if (MathF.Abs(v) > amax) { amax = MathF.Abs(v); max = v; }
        }
        HalfBits.Write(o, 0, max / -16f);
        float d = HalfBits.Read(o, 0);
        float id = d != 0 ? 1f / d : 0f;
        uint qh = 0;
        for (int i = 0; i < 16; i++)
        {
            int lo = Math.Clamp((int)(x[i] * id + 16.5f), 0, 31);
            int hi = Math.Clamp((int)(x[i + 16] * id + 16.5f), 0, 31);
            o[6 + i] = (byte)((lo & 0xF) | (hi & 0xF) << 4);
            qh |= (uint)(lo >> 4) << i | (uint)(hi >> 4) << (i + 16);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(o.Slice(2, 4), qh);
    }

    private static void DequantizeQ5_0(ReadOnlySpan<byte> q, Span<float> y)
    {
        float d = HalfBits.Read(q, 0);
        uint qh = BinaryPrimitives.ReadUInt32LittleEndian(q.Slice(2, 4));
        for (int i = 0; i < 16; i++)
        {
            y[i] = (((q[6 + i] & 0xF) | (int)(qh >> i & 1) << 4) - 16) * d;
            y[i + 16] = (((q[6 + i] >> 4) | (int)(qh >> (i + 16) & 1) << 4) - 16) * d;
        }
    }
}
