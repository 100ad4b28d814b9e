using VllmSharp.Kernels.Quant;

namespace VllmSharp.Kernels;

/// <summary>Token embedding lookup from a [vocab, hidden] table stored in any supported dtype.</summary>
public static unsafe class Embedding
{
    /// <summary>output[t, :] = table row ids[t] as f32. output must hold ids.Length × table.Cols floats.</summary>
    public static void Lookup(WeightMatrix table, ReadOnlySpan<int> ids, Span<float> output)
    {
        int hidden = table.Cols;
        if (output.Length != (long)ids.Length * hidden)
            throw new ArgumentException($"output must hold {ids.Length}×{hidden} floats but has {output.Length}.", nameof(output));
        if (hidden % table.Type.BlockSize() != 0)
            throw new ArgumentException($"{table.Type} rows must hold a multiple of {table.Type.BlockSize()} values, got {hidden}.", nameof(table));
        // Check every id before writing anything so a bad batch leaves the output untouched.
        for (int t = 0; t < ids.Length; t++)
        {
            if ((uint)ids[t] >= (uint)table.Rows)
                throw new ArgumentOutOfRangeException(nameof(ids), ids[t], $"Token id at position {t} is outside [0, {table.Rows}).");
        }
        if (table.Type.IsQuantized())
        {
            // Only the looked-up rows are dequantized (GGUF token_embd is often Q8_0/Q4_K/Q6_K).
            QuantType type = table.Type.ToQuantType();
            fixed (float* po = output)
            {
                for (int t = 0; t < ids.Length; t++)
                    QuantDequant.Row(type, (byte*)table.RowAddress(ids[t]), hidden, po + (long)t * hidden);
            }
            return;
        }
        for (int t = 0; t < ids.Length; t++)
            DTypeConvert.ToSingle(table.RowAddress(ids[t]), table.Type, output.Slice(t * hidden, hidden));
    }
}
