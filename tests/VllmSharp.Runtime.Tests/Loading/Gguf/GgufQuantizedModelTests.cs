using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading.Gguf;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading.Gguf;

/// <summary>
/// Quantized GGUF models load in place (no dequantized copy) and their logits stay close to the f32 model's.
/// The presets are widened to 256-wide rows so the k-quants are really used (the tiny ones would all fall back).
/// </summary>
public sealed class GgufQuantizedModelTests
{
    // Bounds on ‖logits − f32 logits‖ / ‖f32 logits‖ over all 23 rows. Each format's rounding error relative to
    // the weights' spread — about 0.5 % for 8-bit, 1.6 % for 6-bit, 7 % for 4-bit blocks, plus the kernels' 8-bit
    // activations — grows ~2.5× through two layers and the LM head. Measured (seed 17): q8_0 0.010–0.012, q6_k
    // 0.040–0.044, q4_k 0.127–0.143, q4_0 0.139–0.150; bounds are ~1.8× those. A wrong layout, name map or Q/K
    // permutation gives errors of order 1.
    public static TheoryData<string, GgufFileType, double> Cases()
    {
        var data = new TheoryData<string, GgufFileType, double>();
        foreach (string preset in new[] { "tiny-llama", "tiny-qwen2", "tiny-qwen3" })
        {
            data.Add(preset, GgufFileType.Q8_0, 0.02);
            data.Add(preset, GgufFileType.Q6_K, 0.08);
            data.Add(preset, GgufFileType.Q4_K, 0.25);
            data.Add(preset, GgufFileType.Q4_0, 0.25);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Load_QuantizedGguf_LogitsCloseToF32(string presetName, GgufFileType type, double bound)
    {
        using var dir = new TempDirectory();
        TestModelPreset preset = GgufModelLogits.Wide(presetName);
        int[] prompt = GgufModelLogits.Prompt(preset.Config.VocabSize);
        float[] reference = GgufModelLogits.Load(GgufModelLogits.WriteGguf(dir, preset, GgufFileType.F32, "f32.gguf"), "auto", prompt);
        float[] quantized = GgufModelLogits.Load(GgufModelLogits.WriteGguf(dir, preset, type, "q.gguf"), "auto", prompt);
        double error = GgufModelLogits.RelativeError(quantized, reference);
        Assert.True(error <= bound, $"{presetName} {type}: relative logit error {error:F4} > {bound}");
        Assert.True(error > 0, "quantization must change something");
    }

    [Fact]
    public void Write_Q4K_FollowsQ4KMRules()
    {
        using var dir = new TempDirectory();
        TestModelPreset preset = GgufModelLogits.Wide("tiny-mistral"); // untied: output.weight exists
        using var file = GgufFile.Open(GgufModelLogits.WriteGguf(dir, preset, GgufFileType.Q4_K));
        Assert.Equal(15u, file.Get<uint>("general.file_type"));
        Assert.Equal(GgmlType.Q6_K, file.GetTensor("output.weight").Type);
        Assert.Equal(GgmlType.Q4_K, file.GetTensor("token_embd.weight").Type);
        Assert.Equal(GgmlType.Q4_K, file.GetTensor("blk.0.attn_q.weight").Type);
        // use_more_bits(i, 2): i < 0 || i >= 1 || (i − 0) % 3 == 2 → only layer 1.
        Assert.Equal(GgmlType.Q4_K, file.GetTensor("blk.0.ffn_down.weight").Type);
        Assert.Equal(GgmlType.Q6_K, file.GetTensor("blk.1.ffn_down.weight").Type);
        Assert.Equal(GgmlType.Q6_K, file.GetTensor("blk.1.attn_v.weight").Type);
        Assert.Equal(GgmlType.F32, file.GetTensor("blk.0.ffn_norm.weight").Type);
    }

    [Fact]
    public void Write_KQuantOfNarrowRows_FallsBackToQ8_0()
    {
        using var dir = new TempDirectory();
        using var file = GgufFile.Open(GgufModelLogits.WriteGguf(dir, TestModelPresets.TinyQwen2, GgufFileType.Q6_K)); // 64-wide rows
        Assert.Equal(GgmlType.Q8_0, file.GetTensor("blk.0.attn_q.weight").Type);
        Assert.Equal(GgmlType.F32, file.GetTensor("blk.0.attn_q.bias").Type);
    }

    [Fact]
    public void Write_Q4KOfNarrowRows_FallsBackToQ5_0AndLoadsCloseToF32()
    {
        // Qwen2.5-0.5B's 896-wide matrices take this path in llama.cpp's Q4_K_M files too. Q5_0 rounds to 5 bits
        // per 32 values (about half of 4-bit's error); the bound is 4-bit's.
        using var dir = new TempDirectory();
        TestModelPreset preset = TestModelPresets.TinyQwen2; // 64-wide rows
        string path = GgufModelLogits.WriteGguf(dir, preset, GgufFileType.Q4_K, "q.gguf");
        using (var file = GgufFile.Open(path))
            Assert.Equal(GgmlType.Q5_0, file.GetTensor("blk.0.attn_q.weight").Type);
        int[] prompt = GgufModelLogits.Prompt(preset.Config.VocabSize);
        float[] reference = GgufModelLogits.Load(GgufModelLogits.WriteGguf(dir, preset, GgufFileType.F32, "f32.gguf"), "auto", prompt);
        double error = GgufModelLogits.RelativeError(GgufModelLogits.Load(path, "auto", prompt), reference);
        Assert.InRange(error, 1e-6, 0.25);
    }

    [Fact]
    public void Load_Q8_0Gguf_MatricesUsedInPlaceFromTheMapping()
    {
        using var dir = new TempDirectory();
        TestModelPreset preset = GgufModelLogits.Wide("tiny-qwen2");
        string path = GgufModelLogits.WriteGguf(dir, preset, GgufFileType.Q8_0);
        using var source = GgufWeightSource.Open(path, runType: null);
        Assert.Equal(DType.Q8_0, source.DType);
        WeightMatrix up = source.GetMatrix("model.layers.0.mlp.up_proj.weight", 512, 256);
        Assert.Equal(DType.Q8_0, up.Type);
        Assert.Equal(source.File.GetTensor("blk.0.ffn_up.weight").Data, up.Data);
    }

    [Fact]
    public void UseMoreBits_MatchesLlamaCppForTwentyFourLayers()
    {
        // llama.cpp's rule for n = 24: i < 3, i >= 21, or (i − 3) % 3 == 2.
        int[] expected = [0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23];
        var actual = new List<int>();
        for (int i = 0; i < 24; i++)
            if (GgufTensorTypePlan.UseMoreBits(i, 24)) actual.Add(i);
        Assert.Equal(expected, actual);
    }
}
