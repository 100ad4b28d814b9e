using Xunit;

namespace VllmSharp.Cli.Tests;

/// <summary>`vllmsharp create-model` and `vllmsharp generate` end to end, as a user runs them, and their bad input.</summary>
public sealed class GenerateCommandTests
{
    private static string CreateTinyModel(TempDir dir, string preset = "tiny-qwen2")
    {
        string model = dir.File("model");
        var (code, _, error) = CliRunner.Run("create-model", "--preset", preset, "--dtype", "float32", "--vocab-size", "151936", "-o", model);
        Assert.True(code == 0, error);
        return model;
    }

    [Fact]
    public void Generate_TinyModel_PrintsPromptTextAndTokensPerSecond()
    {
        using var dir = new TempDir();
        string model = CreateTinyModel(dir);
        var (code, output, error) = CliRunner.Run("generate", model, "--prompt", "Hello, world", "--max-tokens", "8", "--seed", "1");
        Assert.True(code == 0, error);
        Assert.StartsWith("Hello, world", output);
        Assert.Matches(@"prompt: \d+ tokens, [\d.]+ tokens/s \| generation: \d+ tokens, [\d.]+ tokens/s", output);
    }

    [Fact]
    public void Generate_SameSeed_SameText()
    {
        using var dir = new TempDir();
        string model = CreateTinyModel(dir);
        string[] args = ["generate", model, "--prompt", "Once upon a time", "--max-tokens", "12", "--temperature", "1.0", "--seed", "7"];
        string first = CliRunner.Run(args).Output, second = CliRunner.Run(args).Output;
        Assert.Equal(first.Split("\n\n")[0], second.Split("\n\n")[0]);
    }

    [Fact]
    public void Generate_MissingModelFolder_OneLineErrorNoStackTrace()
    {
        var (code, _, error) = CliRunner.Run("generate", "/nonexistent/model-dir", "--max-tokens", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("/nonexistent/model-dir", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void Generate_Verbose_PrintsStackTrace()
    {
        var (code, _, error) = CliRunner.Run("generate", "/nonexistent/model-dir", "--verbose");
        Assert.NotEqual(0, code);
        Assert.Contains("   at ", error);
    }

    [Fact]
    public void Generate_UnsupportedArchitecture_NamesConfigAndArchitecture()
    {
        using var dir = new TempDir();
        string model = CreateTinyModel(dir);
        string config = Path.Combine(model, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("Qwen2ForCausalLM", "GPT2LMHeadModel"));
        var (code, _, error) = CliRunner.Run("generate", model);
        Assert.NotEqual(0, code);
        Assert.Contains("config.json", error);
        Assert.Contains("GPT2LMHeadModel", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void Generate_TruncatedSafetensors_NamesFile()
    {
        using var dir = new TempDir();
        string model = CreateTinyModel(dir);
        string weights = Path.Combine(model, "model.safetensors");
        using (var stream = new FileStream(weights, FileMode.Open)) stream.SetLength(stream.Length / 2);
        var (code, _, error) = CliRunner.Run("generate", model);
        Assert.NotEqual(0, code);
        Assert.Contains("model.safetensors", error);
        Assert.Contains("truncated", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void Generate_TensorOfWrongShape_NamesTensor()
    {
        using var dir = new TempDir();
        string model = CreateTinyModel(dir);
        string config = Path.Combine(model, "config.json");
        string text = File.ReadAllText(config);
        Assert.Contains("\"intermediate_size\": 128", text);
        File.WriteAllText(config, text.Replace("\"intermediate_size\": 128", "\"intermediate_size\": 96"));
        var (code, _, error) = CliRunner.Run("generate", model);
        Assert.NotEqual(0, code);
        Assert.Contains("model.safetensors", error);
        Assert.Contains("mlp", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void Generate_MissingTokenizer_NamesFolder()
    {
        using var dir = new TempDir();
        string model = CreateTinyModel(dir);
        File.Delete(Path.Combine(model, "tokenizer.json"));
        var (code, _, error) = CliRunner.Run("generate", model);
        Assert.NotEqual(0, code);
        Assert.Contains(model, error);
        Assert.Contains("tokenizer", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void Generate_InvalidFlagValue_FailsBeforeLoading()
    {
        var (code, _, error) = CliRunner.Run("generate", "/nonexistent", "--max-tokens", "0");
        Assert.NotEqual(0, code);
        Assert.Contains("--max-tokens", error);
    }

    [Fact]
    public void Generate_NoModel_CreatesDefaultModelInCacheAndGenerates()
    {
        using var dir = new TempDir();
        string? previous = Environment.GetEnvironmentVariable("VLLMSHARP_CACHE");
        Environment.SetEnvironmentVariable("VLLMSHARP_CACHE", dir.Path);
        try
        {
            var (code, output, error) = CliRunner.Run("generate", "--prompt", "The capital of France is", "--max-tokens", "3");
            Assert.True(code == 0, error);
            Assert.StartsWith("The capital of France is", output);
            Assert.True(File.Exists(Path.Combine(dir.Path, "models", "default-qwen2.5-0.5b-bf16", "model.safetensors")));
        }
        finally
        {
            Environment.SetEnvironmentVariable("VLLMSHARP_CACHE", previous);
        }
    }
}
