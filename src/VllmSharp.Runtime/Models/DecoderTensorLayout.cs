using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.Models;

/// <summary>
/// The Hugging Face tensor names and shapes of the supported decoder-only architectures (Llama, Mistral, Qwen2,
/// Qwen3). The single source of truth for names: the test-model writer, the dummy weight source and the model
/// code all use it, so a name can never drift between the writer and the reader.
/// </summary>
public static class DecoderTensorLayout
{
    public const string EmbedTokens = "model.embed_tokens.weight";
    public const string FinalNorm = "model.norm.weight";
    public const string LmHead = "lm_head.weight";

    /// <summary>"model.layers.{layer}." — the prefix of every tensor of one decoder layer.</summary>
    public static string LayerPrefix(int layer) => $"model.layers.{layer}.";

    /// <summary>
    /// All tensors of a checkpoint for <paramref name="c"/>, in the order the writer stores them (embedding,
    /// layers in order, final norm, lm_head).
    /// </summary>
    public static IReadOnlyList<TensorSpec> Enumerate(HfConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        long hidden = c.HiddenSize, inter = c.IntermediateSize, headDim = c.HeadDim;
        long qDim = c.NumAttentionHeads * headDim, kvDim = c.NumKeyValueHeads * headDim;
        bool qkNorm = c.Architecture == HfConfig.Qwen3;
        // HF's Llama/Mistral/Qwen3 attention gives o_proj a bias too when attention_bias is set; Qwen2 never does.
        bool oBias = c.AttentionBias && c.Architecture != HfConfig.Qwen2;

        var specs = new List<TensorSpec>(2 + c.NumHiddenLayers * 16)
        {
            new(EmbedTokens, [c.VocabSize, hidden], TensorRole.Embedding),
        };
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = LayerPrefix(i);
            specs.Add(new(p + "input_layernorm.weight", [hidden], TensorRole.Norm));
            specs.Add(new(p + "self_attn.q_proj.weight", [qDim, hidden], TensorRole.Linear));
            specs.Add(new(p + "self_attn.k_proj.weight", [kvDim, hidden], TensorRole.Linear));
            specs.Add(new(p + "self_attn.v_proj.weight", [kvDim, hidden], TensorRole.Linear));
            if (c.AttentionBias)
            {
                specs.Add(new(p + "self_attn.q_proj.bias", [qDim], TensorRole.Bias));
                specs.Add(new(p + "self_attn.k_proj.bias", [kvDim], TensorRole.Bias));
                specs.Add(new(p + "self_attn.v_proj.bias", [kvDim], TensorRole.Bias));
            }
            specs.Add(new(p + "self_attn.o_proj.weight", [hidden, qDim], TensorRole.Linear));
            if (oBias) specs.Add(new(p + "self_attn.o_proj.bias", [hidden], TensorRole.Bias));
            if (qkNorm)
            {
                specs.Add(new(p + "self_attn.q_norm.weight", [headDim], TensorRole.Norm));
                specs.Add(new(p + "self_attn.k_norm.weight", [headDim], TensorRole.Norm));
            }
            specs.Add(new(p + "post_attention_layernorm.weight", [hidden], TensorRole.Norm));
            specs.Add(new(p + "mlp.gate_proj.weight", [inter, hidden], TensorRole.Linear));
            specs.Add(new(p + "mlp.up_proj.weight", [inter, hidden], TensorRole.Linear));
            specs.Add(new(p + "mlp.down_proj.weight", [hidden, inter], TensorRole.Linear));
        }
        specs.Add(new(FinalNorm, [hidden], TensorRole.Norm));
        if (!c.TieWordEmbeddings) specs.Add(new(LmHead, [c.VocabSize, hidden], TensorRole.LmHead));
        return specs;
    }
}
