using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Models;

/// <summary>The weights of one Llama-style decoder layer, as the HF checkpoint names them.</summary>
internal sealed class DecoderLayerWeights
{
    public required float[] InputLayerNorm { get; init; }
    /// <summary>q, k and v projections, run as one matrix multiply whose output is the three blocks in a row.</summary>
    public required WeightMatrix[] QkvProj { get; init; }
    /// <summary>Qwen2's q/k/v biases (null when the architecture has none).</summary>
    public required float[]? QBias { get; init; }
    public required float[]? KBias { get; init; }
    public required float[]? VBias { get; init; }
    /// <summary>Qwen3's per-head RMSNorm of queries and keys (null when absent).</summary>
    public required float[]? QNorm { get; init; }
    public required float[]? KNorm { get; init; }
    public required WeightMatrix OProj { get; init; }
    /// <summary>o_proj bias: HF's Llama/Mistral/Qwen3 attention has one when attention_bias is set (Qwen2 never).</summary>
    public required float[]? OBias { get; init; }
    public required float[] PostAttentionLayerNorm { get; init; }
    /// <summary>gate and up projections, run as one matrix multiply.</summary>
    public required WeightMatrix[] GateUpProj { get; init; }
    public required WeightMatrix DownProj { get; init; }

    public static DecoderLayerWeights Load(IWeightSource source, HfConfig config, int layer, bool qkNorm)
    {
        string p = $"model.layers.{layer}.";
        int hidden = config.HiddenSize, headDim = config.HeadDim, inter = config.IntermediateSize;
        int qRows = config.NumAttentionHeads * headDim, kvRows = config.NumKeyValueHeads * headDim;
        bool bias = config.AttentionBias;
        return new DecoderLayerWeights
        {
            InputLayerNorm = source.GetVector(p + "input_layernorm.weight", hidden),
            QkvProj =
            [
                source.GetMatrix(p + "self_attn.q_proj.weight", qRows, hidden),
                source.GetMatrix(p + "self_attn.k_proj.weight", kvRows, hidden),
                source.GetMatrix(p + "self_attn.v_proj.weight", kvRows, hidden),
            ],
            QBias = bias ? source.GetVector(p + "self_attn.q_proj.bias", qRows) : null,
            KBias = bias ? source.GetVector(p + "self_attn.k_proj.bias", kvRows) : null,
            VBias = bias ? source.GetVector(p + "self_attn.v_proj.bias", kvRows) : null,
            QNorm = qkNorm ? source.GetVector(p + "self_attn.q_norm.weight", headDim) : null,
            KNorm = qkNorm ? source.GetVector(p + "self_attn.k_norm.weight", headDim) : null,
            OProj = source.GetMatrix(p + "self_attn.o_proj.weight", hidden, qRows),
            OBias = bias && config.Architecture != HfConfig.Qwen2 ? source.GetVector(p + "self_attn.o_proj.bias", hidden) : null,
            PostAttentionLayerNorm = source.GetVector(p + "post_attention_layernorm.weight", hidden),
            GateUpProj =
            [
                source.GetMatrix(p + "mlp.gate_proj.weight", inter, hidden),
                source.GetMatrix(p + "mlp.up_proj.weight", inter, hidden),
            ],
            DownProj = source.GetMatrix(p + "mlp.down_proj.weight", hidden, inter),
        };
    }
}
