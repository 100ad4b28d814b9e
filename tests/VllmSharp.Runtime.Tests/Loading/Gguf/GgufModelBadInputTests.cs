using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Loading.Gguf;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading.Gguf;

/// <summary>
/// Broken GGUF model files fail with one <see cref="ModelLoadException"/> that names the file and the key or
/// tensor at fault, and nothing else: a fuzz loop of byte flips and truncations may never raise another type.
/// </summary>
public sealed class GgufModelBadInputTests
{
    private static ModelLoadException LoadFails(string path)
    {
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(path).Dispose());
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message);
        return e;
    }

    [Fact]
    public void Load_TruncatedFile_NamesTensorAndSaysTruncated()
    {
        using var dir = new TempDirectory();
        string path = GgufModelLogits.WriteGguf(dir, TestModelPresets.TinyQwen2, GgufFileType.F16);
        using (var s = new FileStream(path, FileMode.Open)) s.SetLength(s.Length - 100); // inside output_norm.weight, the last tensor (256 bytes)
        ModelLoadException e = LoadFails(path);
        Assert.Contains("truncated", e.Problem);
        Assert.Contains("output_norm.weight", e.Problem);
    }

    [Fact]
    public void Load_TensorOfUnsupportedType_NamesTensorAndType()
    {
        using var dir = new TempDirectory();
        string path = GgufModelLogits.Mutate(dir, TestModelPresets.TinyQwen2,
            replace: t => t.Name == "blk.1.ffn_up.weight" ? (GgmlType.Q5_1, t.Dims) : null);
        ModelLoadException e = LoadFails(path);
        Assert.Contains("blk.1.ffn_up.weight", e.Problem);
        Assert.Contains("Q5_1", e.Problem);
    }

    [Fact]
    public void Load_UnsupportedArchitecture_NamesKeyAndValue()
    {
        using var dir = new TempDirectory();
        string path = GgufModelLogits.Mutate(dir, TestModelPresets.TinyQwen2, kvs => GgufModelLogits.Set(kvs, "general.architecture", "gpt2"));
        ModelLoadException e = LoadFails(path);
        Assert.Contains("'gpt2'", e.Problem);
        Assert.Contains("general.architecture", e.Problem);
    }

    [Fact]
    public void Load_HeadCountsThatDoNotDivide_NamesBothKeys()
    {
        using var dir = new TempDirectory();
        string path = GgufModelLogits.Mutate(dir, TestModelPresets.TinyQwen2, kvs => GgufModelLogits.Set(kvs, "qwen2.attention.head_count_kv", 3u));
        ModelLoadException e = LoadFails(path);
        Assert.Contains("'qwen2.attention.head_count' (4)", e.Problem);
        Assert.Contains("'qwen2.attention.head_count_kv' (3)", e.Problem);
    }

    [Fact]
    public void Load_MissingKey_NamesKey()
    {
        using var dir = new TempDirectory();
        string path = GgufModelLogits.Mutate(dir, TestModelPresets.TinyLlama, kvs => kvs.RemoveAll(kv => kv.Key == "llama.feed_forward_length"));
        Assert.Contains("'llama.feed_forward_length' not found", LoadFails(path).Problem);
    }

    [Fact]
    public void Load_KeyOfWrongType_NamesKeyAndTypes()
    {
        using var dir = new TempDirectory();
        string path = GgufModelLogits.Mutate(dir, TestModelPresets.TinyQwen3, kvs => GgufModelLogits.Set(kvs, "qwen3.block_count", "two"));
        ModelLoadException e = LoadFails(path);
        Assert.Contains("qwen3.block_count", e.Problem);
        Assert.Contains("String", e.Problem);
    }

    [Fact]
    public void Load_TensorShapeDisagreesWithMetadata_NamesTensor()
    {
        using var dir = new TempDirectory();
        string path = GgufModelLogits.Mutate(dir, TestModelPresets.TinyQwen3, kvs => GgufModelLogits.Set(kvs, "qwen3.feed_forward_length", 96u));
        ModelLoadException e = LoadFails(path);
        Assert.Contains("blk.0.ffn_gate.weight", e.Problem);
        Assert.Contains("[64, 128]", e.Problem);
    }

    [Fact]
    public void Load_MissingTensor_NamesGgufAndHfName()
    {
        using var dir = new TempDirectory();
        string path = GgufModelLogits.Mutate(dir, TestModelPresets.TinyMistral, dropTensor: "blk.1.attn_k.weight");
        ModelLoadException e = LoadFails(path);
        Assert.Contains("'blk.1.attn_k.weight'", e.Problem);
        Assert.Contains("model.layers.1.self_attn.k_proj.weight", e.Problem);
    }

    [Fact]
    public void Load_NoTokenizerAndNoVocabSize_SaysTokenizerMissing()
    {
        using var dir = new TempDirectory();
        string path = GgufModelLogits.Mutate(dir, TestModelPresets.TinyQwen2, kvs => kvs.RemoveAll(kv => kv.Key.StartsWith("tokenizer.", StringComparison.Ordinal) || kv.Key == "qwen2.vocab_size"));
        ModelLoadException e = LoadFails(path);
        Assert.Contains("tokenizer.ggml.tokens", e.Problem);
        Assert.Contains("no tokenizer", e.Problem);
    }

    [Fact]
    public void Load_TokenCountDiffersFromVocabSize_NamesBothKeys()
    {
        using var dir = new TempDirectory();
        string path = GgufModelLogits.Mutate(dir, TestModelPresets.TinyQwen2, kvs => GgufModelLogits.Set(kvs, "qwen2.vocab_size", 600u));
        ModelLoadException e = LoadFails(path);
        Assert.Contains("qwen2.vocab_size", e.Problem);
        Assert.Contains("tokenizer.ggml.tokens", e.Problem);
    }

    [Fact]
    public void Load_HugeBlockCount_FailsBeforeAllocating()
    {
        using var dir = new TempDirectory();
        string path = GgufModelLogits.Mutate(dir, TestModelPresets.TinyQwen2, kvs => GgufModelLogits.Set(kvs, "qwen2.block_count", (uint)int.MaxValue));
        Assert.Contains("qwen2.block_count", LoadFails(path).Problem);
    }

    [Fact]
    public void Load_VocabularyOnlyGguf_SaysNotAModel()
    {
        using var dir = new TempDirectory();
        string path = dir.File("vocab.gguf");
        var writer = new GgufWriter(path);
        ByteLevelTestVocabulary.Create().WriteTo(writer);
        writer.Write();
        Assert.Contains("general.architecture", LoadFails(path).Problem);
    }

    [Fact]
    public void Load_FuzzedFile_OnlyEverThrowsModelLoadException()
    {
        // 300 corruptions of a small valid llama model (rope_freqs, permuted Q/K, llama3 keys): 1–8 random byte
        // flips, mostly in the header where they change meaning rather than weight values, or a truncation.
        using var dir = new TempDirectory();
        string valid = GgufModelLogits.WriteGguf(dir, TestModelPresets.TinyLlama.WithVocabSize(260), GgufFileType.F16, "valid.gguf");
        byte[] original = File.ReadAllBytes(valid);
        int headerLength;
        using (var file = GgufFile.Open(valid)) headerLength = (int)file.DataOffset;
        var random = new Random(1234);
        string path = dir.File("fuzz.gguf");
        int loaded = 0, refused = 0;
        for (int iteration = 0; iteration < 300; iteration++)
        {
            byte[] bytes = (byte[])original.Clone();
            if (random.Next(5) == 0) bytes = bytes[..random.Next(bytes.Length)];
            else
                for (int flips = random.Next(1, 9); flips > 0; flips--)
                {
                    int at = random.Next(10) < 9 ? random.Next(headerLength) : random.Next(bytes.Length);
                    bytes[at] ^= (byte)(1 << random.Next(8));
                }
            File.WriteAllBytes(path, bytes);
            try
            {
                using ICausalLM model = ModelLoader.Load(path);
                GgufModelLogits.Run(model, [1, 2, 3]);
                loaded++;
            }
            catch (ModelLoadException e)
            {
                Assert.StartsWith(path, e.Message);
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {iteration}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }
        Assert.True(refused > 100, $"only {refused} of 300 corruptions were refused");
        Assert.True(loaded > 0, "some flips (e.g. inside token strings) leave a loadable model");
    }
}
