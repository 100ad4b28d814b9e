using System.Globalization;
using VllmSharp.Runtime.Models;

namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// The single source of truth for how llama.cpp's GGUF names map onto ours: <c>general.architecture</c>
/// (llama, qwen2, qwen3) ↔ the HF architecture, the <c>{arch}.*</c> hyper-parameter keys ↔ <see cref="HfConfig"/>,
/// and the tensor names (<c>blk.N.attn_q.weight</c>, …) ↔ <see cref="DecoderTensorLayout"/>'s HF names (the key
/// mapping is in GgufArchitecture.Config.cs). The reader (<see cref="GgufWeightSource"/>) and the writer
/// (<see cref="GgufModelWriter"/>) both go through here, so a name cannot drift between them.
/// <para>
/// llama.cpp's converter permutes the rows of Q and K (weights and biases) for arch <c>llama</c> so that ggml's
/// interleaved RoPE on the permuted rows equals HF's rotate-half RoPE on the original ones; Qwen2/Qwen3 are run
/// with NeoX RoPE and are stored unpermuted. We undo the permutation on load (rows are copied, which works for
/// quantized rows too since every row is a whole number of blocks) and apply it on write, so the model code only
/// ever sees HF's layout and the logits equal the safetensors model's bit for bit.
/// </para>
/// </summary>
public static partial class GgufArchitecture
{
    public const string Llama = "llama";
    public const string Qwen2 = "qwen2";
    public const string Qwen3 = "qwen3";

    public const string ArchitectureKey = "general.architecture";
    public const string RopeFreqsTensor = "rope_freqs.weight";

    /// <summary>The GGUF architectures we run.</summary>
    public static IReadOnlyList<string> Supported { get; } = [Llama, Qwen2, Qwen3];

    // HF per-layer suffix ↔ GGUF per-layer suffix (after "model.layers.N." and "blk.N.").
    private static readonly (string Hf, string Gguf)[] s_layerNames =
    [
        ("input_layernorm.weight", "attn_norm.weight"),
        ("self_attn.q_proj.weight", "attn_q.weight"),
        ("self_attn.q_proj.bias", "attn_q.bias"),
        ("self_attn.k_proj.weight", "attn_k.weight"),
        ("self_attn.k_proj.bias", "attn_k.bias"),
        ("self_attn.v_proj.weight", "attn_v.weight"),
        ("self_attn.v_proj.bias", "attn_v.bias"),
        ("self_attn.o_proj.weight", "attn_output.weight"),
        ("self_attn.o_proj.bias", "attn_output.bias"),
        ("self_attn.q_norm.weight", "attn_q_norm.weight"),
        ("self_attn.k_norm.weight", "attn_k_norm.weight"),
        ("post_attention_layernorm.weight", "ffn_norm.weight"),
        ("mlp.gate_proj.weight", "ffn_gate.weight"),
        ("mlp.up_proj.weight", "ffn_up.weight"),
        ("mlp.down_proj.weight", "ffn_down.weight"),
    ];

    /// <summary>The GGUF architecture name for an HF architecture (Mistral is stored as llama, as llama.cpp does).</summary>
    public static string FromHf(string hfArchitecture) => hfArchitecture switch
    {
        HfConfig.Llama or HfConfig.Mistral => Llama,
        HfConfig.Qwen2 => Qwen2,
        HfConfig.Qwen3 => Qwen3,
        _ => throw new NotSupportedException($"architecture '{hfArchitecture}' has no GGUF mapping (supported: {string.Join(", ", HfConfig.SupportedArchitectures)})"),
    };

    /// <summary>
    /// The HF architecture for a GGUF one. llama.cpp stores Mistral as <c>llama</c>; a sliding window (which only
    /// Mistral uses among these) tells them apart, and without one the two run identically anyway.
    /// </summary>
    public static string? ToHf(string ggufArchitecture, bool hasSlidingWindow) => ggufArchitecture switch
    {
        Llama => hasSlidingWindow ? HfConfig.Mistral : HfConfig.Llama,
        Qwen2 => HfConfig.Qwen2,
        Qwen3 => HfConfig.Qwen3,
        _ => null,
    };

    /// <summary>True when llama.cpp's converter permutes Q/K rows for this GGUF architecture.</summary>
    public static bool PermutesQk(string ggufArchitecture) => ggufArchitecture == Llama;

    /// <summary>The GGUF tensor name of an HF tensor name; throws for names outside the decoder layout.</summary>
    public static string ToGgufName(string hfName)
    {
        ArgumentNullException.ThrowIfNull(hfName);
        switch (hfName)
        {
            case DecoderTensorLayout.EmbedTokens: return "token_embd.weight";
            case DecoderTensorLayout.FinalNorm: return "output_norm.weight";
            case DecoderTensorLayout.LmHead: return "output.weight";
        }
        const string prefix = "model.layers.";
        if (hfName.StartsWith(prefix, StringComparison.Ordinal))
        {
            int dot = hfName.IndexOf('.', prefix.Length);
            if (dot > prefix.Length && int.TryParse(hfName.AsSpan(prefix.Length, dot - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
            {
                string suffix = hfName[(dot + 1)..];
                foreach ((string hf, string gguf) in s_layerNames)
                    if (hf == suffix) return $"blk.{layer}.{gguf}";
            }
        }
        throw new ArgumentException($"tensor '{hfName}' has no GGUF name", nameof(hfName));
    }

    /// <summary>
    /// How the Q/K rows of an HF tensor are permuted in GGUF: the number of heads to permute within, or 0 when
    /// the tensor is stored as is.
    /// </summary>
    public static int PermutedHeads(string ggufArchitecture, string hfName, HfConfig config)
    {
        if (!PermutesQk(ggufArchitecture)) return 0;
        if (hfName.EndsWith("self_attn.q_proj.weight", StringComparison.Ordinal) || hfName.EndsWith("self_attn.q_proj.bias", StringComparison.Ordinal))
            return config.NumAttentionHeads;
        if (hfName.EndsWith("self_attn.k_proj.weight", StringComparison.Ordinal) || hfName.EndsWith("self_attn.k_proj.bias", StringComparison.Ordinal))
            return config.NumKeyValueHeads;
        return 0;
    }

    /// <summary>
    /// The HF row that GGUF row <paramref name="ggufRow"/> holds, for a tensor of <paramref name="heads"/> heads of
    /// <paramref name="headDim"/> rows each. llama.cpp's converter reshapes each head to [2, headDim/2] and swaps the
    /// axes, so GGUF row 2i holds HF row i and row 2i+1 holds HF row i + headDim/2 (within the head).
    /// </summary>
    public static int HfRowOfGgufRow(int ggufRow, int headDim)
    {
        int head = ggufRow / headDim, j = ggufRow % headDim, half = headDim / 2;
        return head * headDim + (j % 2 == 0 ? j / 2 : half + j / 2);
    }

    /// <summary>
    /// Copies rows from <paramref name="src"/> to <paramref name="dst"/> undoing (toHf) or applying the permutation;
    /// rows are opaque byte runs, so any element type, quantized ones included, works.
    /// </summary>
    public static void PermuteRows(ReadOnlySpan<byte> src, Span<byte> dst, int rows, int rowBytes, int headDim, bool toHf)
    {
        if (headDim <= 0 || headDim % 2 != 0 || rows % headDim != 0)
            throw new ArgumentException($"{rows} rows cannot be split into heads of {headDim} (which must be even)");
        for (int g = 0; g < rows; g++)
        {
            int h = HfRowOfGgufRow(g, headDim);
            (int from, int to) = toHf ? (g, h) : (h, g);
            src.Slice(from * rowBytes, rowBytes).CopyTo(dst.Slice(to * rowBytes, rowBytes));
        }
    }
}
