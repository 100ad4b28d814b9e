using VllmSharp.Runtime.Loading.Gguf;
using Xunit;

namespace VllmSharp.Cli.Tests;

/// <summary>`create-model --format gguf` and `generate model.gguf` end to end, as a user runs them.</summary>
public sealed class GgufCommandTests
{
    private static string CreateGguf(TempDir dir, string preset, string dtype, params string[] extra)
    {
        string model = dir.File($"{preset}-{dtype}.gguf");
        var (code, output, error) = CliRunner.Run(["create-model", "--preset", preset, "--format", "gguf", "--dtype", dtype, "-o", model, .. extra]);
        Assert.True(code == 0, error);
        Assert.Contains(model, output);
        return model;
    }

    [Theory]
    [InlineData("tiny-qwen2", "f16")]
    [InlineData("tiny-llama", "q8_0")]
    public void Generate_GgufModel_PrintsPromptTextAndTokensPerSecond(string preset, string dtype)
    {
        using var dir = new TempDir();
        string model = CreateGguf(dir, preset, dtype);
        var (code, output, error) = CliRunner.Run("generate", model, "--prompt", "Hello, world", "--max-tokens", "6", "--seed", "1");
        Assert.True(code == 0, error);
        Assert.StartsWith("Hello, world", output);
        Assert.Matches(@"prompt: \d+ tokens, [\d.]+ tokens/s \| generation: \d+ tokens, [\d.]+ tokens/s", output);
    }

    [Fact]
    public void Generate_GgufAndSafetensorsOfSamePreset_SameGreedyText()
    {
        // With the Qwen vocabulary both carry the same tokenizer (GGUF: in its metadata), and f32 weights are the same bits.
        using var dir = new TempDir();
        string gguf = CreateGguf(dir, "tiny-qwen3", "f32", "--vocab-size", "151936", "--seed", "4");
        string folder = dir.File("hf");
        var (created, _, createError) = CliRunner.Run("create-model", "--preset", "tiny-qwen3", "--dtype", "float32", "--vocab-size", "151936", "--seed", "4", "-o", folder);
        Assert.True(created == 0, createError);
        string[] args = ["--prompt", "The capital of France", "--max-tokens", "8", "--dtype", "float32", "--ignore-eos"];
        var (code1, fromGguf, error1) = CliRunner.Run(["generate", gguf, .. args]);
        var (code2, fromSafetensors, error2) = CliRunner.Run(["generate", folder, .. args]);
        Assert.True(code1 == 0, error1);
        Assert.True(code2 == 0, error2);
        Assert.Equal(fromSafetensors.Split("\n\n")[0], fromGguf.Split("\n\n")[0]);
    }

    [Fact]
    public void CreateModel_QwenPresetGguf_HasBuiltinTokenizerPaddedToVocab()
    {
        using var dir = new TempDir();
        string model = CreateGguf(dir, "tiny-qwen2", "q4_0", "--vocab-size", "151936");
        using var file = GgufFile.Open(model);
        Assert.Equal(2u, file.Get<uint>("general.file_type"));
        string[] tokens = file.Get<string[]>("tokenizer.ggml.tokens");
        Assert.Equal(151936, tokens.Length);
        Assert.Equal("<|im_end|>", tokens[151645]);
        Assert.Equal("[PAD151935]", tokens[^1]);
        Assert.Equal("qwen2", file.Get<string>("tokenizer.ggml.pre"));
    }

    [Fact]
    public void Generate_TruncatedGguf_OneLineErrorNamingFile()
    {
        using var dir = new TempDir();
        string model = CreateGguf(dir, "tiny-qwen2", "f16");
        using (var stream = new FileStream(model, FileMode.Open)) stream.SetLength(stream.Length / 2);
        var (code, _, error) = CliRunner.Run("generate", model);
        Assert.NotEqual(0, code);
        Assert.Contains(model, error);
        Assert.Contains("truncated", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void CreateModel_InvalidGgufDtype_ListsChoices()
    {
        using var dir = new TempDir();
        var (code, _, error) = CliRunner.Run("create-model", "--preset", "tiny-qwen2", "--format", "gguf", "--dtype", "q3_k", "-o", dir.File("x.gguf"));
        Assert.NotEqual(0, code);
        Assert.Contains("q3_k", error);
        Assert.Contains("q4_k", error);
    }
}
