using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Cli.BenchServe;

/// <summary>A model folder's (tokenizer.json) or a .gguf file's tokenizer, loaded in this process.</summary>
public sealed class LocalPromptTokenizer : IPromptTokenizer
{
    private readonly ITokenizer _tokenizer;

    public LocalPromptTokenizer(ITokenizer tokenizer, string source)
    {
        _tokenizer = tokenizer;
        Source = source;
        NumSpecialTokens = tokenizer.Encode("", addSpecialTokens: true).Count;
        var ids = new List<int>(tokenizer.VocabSize);
        // Unused ids (padding of the embedding table) decode to nothing and special ones are not text: vLLM draws
        // random prompts from the rest.
        for (int id = 0; id < tokenizer.VocabSize; id++)
            if (!tokenizer.IsSpecial(id) && !tokenizer.GetTokenBytes(id).IsEmpty) ids.Add(id);
        TextTokenIds = [.. ids];
    }

    /// <summary>Loads the tokenizer of a model folder or of a <c>.gguf</c> file.</summary>
    public static LocalPromptTokenizer Load(string path)
    {
        string full = Path.GetFullPath(path);
        ITokenizer tokenizer = File.Exists(full) && full.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)
            ? GgufTokenizer.Load(full)
            : HfTokenizer.Load(full);
        return new LocalPromptTokenizer(tokenizer, "local: " + full);
    }

    public string Source { get; }
    public int NumSpecialTokens { get; }
    public int[]? TextTokenIds { get; }

    public int[] Encode(string text) => [.. _tokenizer.Encode(text, addSpecialTokens: false)];

    public string Decode(int[] ids) => _tokenizer.Decode(ids, skipSpecialTokens: false);
}
