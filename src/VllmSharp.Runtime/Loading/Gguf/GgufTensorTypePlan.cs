namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// Which ggml type each tensor of a written model gets, following llama.cpp's <c>llama-quantize</c> rules in
/// simplified form:
/// <list type="bullet">
/// <item>vectors (norms, biases) and rope_freqs are always F32;</item>
/// <item>float file types store every matrix in that type;</item>
/// <item>Q8_0 and Q6_K store every matrix in that type;</item>
/// <item>Q4_0 and Q4_K store the output projection (or the token embedding when it is tied to it) as Q6_K;</item>
/// <item>Q4_K (llama.cpp's Q4_K_M) also stores attn_v and ffn_down as Q6_K in the layers llama.cpp's
/// <c>use_more_bits</c> picks (the first and last eighth, and every third one between), the rest as Q4_K;</item>
/// <item>a matrix whose rows are not a whole number of blocks falls back as llama.cpp's does: Q4_K to Q5_0, Q6_K
/// to Q8_0 (both 32-wide blocks), and Q4_0/Q8_0 to F16.</item>
/// </list>
/// </summary>
public static class GgufTensorTypePlan
{
    public static GgmlType TypeFor(GgufFileType fileType, string ggufName, int rank, long cols, int numLayers, bool tiedEmbeddings)
    {
        ArgumentNullException.ThrowIfNull(ggufName);
        if (rank < 2) return GgmlType.F32;
        GgmlType wanted = Wanted(fileType, ggufName, numLayers, tiedEmbeddings);
        if (cols % GgmlTypeInfo.BlockSize(wanted) == 0) return wanted;
        if (cols % 32 != 0) return GgmlType.F16;
        return wanted == GgmlType.Q4_K ? GgmlType.Q5_0 : wanted == GgmlType.Q6_K ? GgmlType.Q8_0 : GgmlType.F16;
    }

    private static GgmlType Wanted(GgufFileType fileType, string name, int numLayers, bool tied)
    {
        bool output = name == "output.weight" || (tied && name == "token_embd.weight");
        switch (fileType)
        {
            case GgufFileType.F32: return GgmlType.F32;
            case GgufFileType.F16: return GgmlType.F16;
            case GgufFileType.BF16: return GgmlType.BF16;
            case GgufFileType.Q8_0: return GgmlType.Q8_0;
            case GgufFileType.Q6_K: return GgmlType.Q6_K;
            case GgufFileType.Q4_0: return output ? GgmlType.Q6_K : GgmlType.Q4_0;
            case GgufFileType.Q4_K:
                if (output) return GgmlType.Q6_K;
                if ((name.EndsWith(".attn_v.weight", StringComparison.Ordinal) || name.EndsWith(".ffn_down.weight", StringComparison.Ordinal))
                    && UseMoreBits(LayerOf(name), numLayers))
                    return GgmlType.Q6_K;
                return GgmlType.Q4_K;
            default: throw new ArgumentOutOfRangeException(nameof(fileType), fileType, null);
        }
    }

    /// <summary>llama.cpp's use_more_bits(i, n): the first and last eighth of the layers and every third between.</summary>
    public static bool UseMoreBits(int layer, int numLayers) =>
        layer < numLayers / 8 || layer >= 7 * numLayers / 8 || (layer - numLayers / 8) % 3 == 2;

    private static int LayerOf(string name)
    {
        // "blk.N.…"
        int end = name.IndexOf('.', 4);
        return int.Parse(name.AsSpan(4, end - 4), System.Globalization.CultureInfo.InvariantCulture);
    }
}
