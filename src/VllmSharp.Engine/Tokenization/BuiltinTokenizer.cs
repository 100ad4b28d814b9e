using System.IO.Compression;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// The Qwen3 tokenizer shipped inside this assembly (Data/README.md: source and licence), so the
/// default model generated on first use has a real tokenizer with no download.
/// </summary>
public static class BuiltinTokenizer
{
    private const string TokenizerResource = "VllmSharp.Engine.Tokenization.Data.qwen3-tokenizer.json.gz";
    private const string ConfigResource = "VllmSharp.Engine.Tokenization.Data.qwen3-tokenizer_config.json";

    /// <summary>Vocabulary size of the built-in tokenizer (151,643 BPE tokens + 26 added tokens).</summary>
    public const int VocabSize = 151_669;

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="modelDir"/> (created if needed).</summary>
    public static void WriteTo(string modelDir)
    {
        Directory.CreateDirectory(modelDir);
        using (Stream compressed = Open(TokenizerResource))
        using (var json = new GZipStream(compressed, CompressionMode.Decompress))
        {
            WriteAtomically(Path.Combine(modelDir, "tokenizer.json"), json);
        }

        using Stream config = Open(ConfigResource);
        WriteAtomically(Path.Combine(modelDir, "tokenizer_config.json"), config);
    }

    /// <summary>Loads the built-in tokenizer without touching the file system.</summary>
    public static HfTokenizer Load()
    {
        using var config = new MemoryStream();
        using (Stream s = Open(ConfigResource))
        {
            s.CopyTo(config);
        }

        using var json = new MemoryStream();
        using (var gzip = new GZipStream(Open(TokenizerResource), CompressionMode.Decompress))
        {
            gzip.CopyTo(json);
        }

        return HfTokenizer.FromTokenizerJson(json.GetBuffer().AsSpan(0, (int)json.Length), TokenizerConfig.Parse(config.GetBuffer().AsSpan(0, (int)config.Length)));
    }

    private static Stream Open(string name) =>
        typeof(BuiltinTokenizer).Assembly.GetManifestResourceStream(name)
        ?? throw new TokenizerLoadException($"Embedded resource '{name}' is missing from {typeof(BuiltinTokenizer).Assembly.GetName().Name}.");

    /// <summary>Write to a temp name then move, so a crash never leaves a truncated tokenizer behind.</summary>
    private static void WriteAtomically(string path, Stream content)
    {
        string temp = path + ".tmp-" + Environment.ProcessId;
        using (FileStream file = File.Create(temp))
        {
            content.CopyTo(file);
        }

        File.Move(temp, path, overwrite: true);
    }
}
