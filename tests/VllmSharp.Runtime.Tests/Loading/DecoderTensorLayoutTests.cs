using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading;

public sealed class DecoderTensorLayoutTests
{
    private static Dictionary<string, TensorSpec> ByName(HfConfig c)
    {
        var map = new Dictionary<string, TensorSpec>();
        foreach (TensorSpec s in DecoderTensorLayout.Enumerate(c)) map.Add(s.Name, s); // Add: names are unique
        return map;
    }

    [Fact]
    public void Enumerate_Qwen25_HasBiasesTiedHeadAndHfShapes()
    {
        Dictionary<string, TensorSpec> t = ByName(TestModelPresets.Qwen25_05B.Config);
        Assert.Equal(2 + 24 * 12, t.Count); // embed + norm + 24 × (2 norms, 4 attn weights, 3 biases, 3 mlp)
        Assert.Equal([151936L, 896L], t["model.embed_tokens.weight"].Shape);
        Assert.Equal([896L, 896L], t["model.layers.23.self_attn.q_proj.weight"].Shape);
        Assert.Equal([128L, 896L], t["model.layers.0.self_attn.k_proj.weight"].Shape);
        Assert.Equal([128L], t["model.layers.0.self_attn.v_proj.bias"].Shape);
        Assert.Equal(TensorRole.Bias, t["model.layers.0.self_attn.q_proj.bias"].Role);
        Assert.Equal([896L, 4864L], t["model.layers.5.mlp.down_proj.weight"].Shape);
        Assert.False(t.ContainsKey("lm_head.weight"));
        Assert.False(t.ContainsKey("model.layers.0.self_attn.o_proj.bias")); // Qwen2's o_proj has no bias
    }

    [Fact]
    public void Enumerate_Qwen3_HasQkNormsOfHeadDimAndWideAttention()
    {
        Dictionary<string, TensorSpec> t = ByName(TestModelPresets.Qwen3_06B.Config);
        Assert.Equal([128L], t["model.layers.27.self_attn.q_norm.weight"].Shape);
        Assert.Equal(TensorRole.Norm, t["model.layers.0.self_attn.k_norm.weight"].Role);
        Assert.Equal([2048L, 1024L], t["model.layers.0.self_attn.q_proj.weight"].Shape); // 16 heads × 128
        Assert.Equal([1024L, 2048L], t["model.layers.0.self_attn.o_proj.weight"].Shape);
        Assert.Equal([1024L, 1024L], t["model.layers.0.self_attn.v_proj.weight"].Shape); // 8 kv heads × 128
        Assert.False(t.ContainsKey("model.layers.0.self_attn.q_proj.bias"));
    }

    [Fact]
    public void Enumerate_Mistral_HasUntiedLmHeadLast()
    {
        IReadOnlyList<TensorSpec> specs = DecoderTensorLayout.Enumerate(TestModelPresets.Mistral7B.Config);
        Assert.Equal(new TensorSpec("lm_head.weight", [32000, 4096], TensorRole.LmHead).Name, specs[^1].Name);
        Assert.Equal([32000L, 4096L], specs[^1].Shape);
        Assert.Equal("model.norm.weight", specs[^2].Name);
        Assert.Equal(3 + 32 * 9, specs.Count);
    }

    [Fact]
    public void Enumerate_LlamaWithAttentionBias_AddsOProjBiasLikeHf()
    {
        // HF's LlamaAttention builds o_proj with bias=config.attention_bias too (Qwen2 never biases o_proj).
        Dictionary<string, TensorSpec> t = ByName(TestModelPresets.TinyLlama.Config with { AttentionBias = true });
        Assert.Equal([64L], t["model.layers.1.self_attn.o_proj.bias"].Shape);
        Assert.Equal([32L], t["model.layers.1.self_attn.k_proj.bias"].Shape);
    }
}
