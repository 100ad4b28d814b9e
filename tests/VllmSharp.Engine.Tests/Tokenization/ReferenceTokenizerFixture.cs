using VllmSharp.Engine.Tests.TestSupport;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.Tests.Tokenization;

/// <summary>
/// One tokenizer under test plus the Node reference's answers for <see cref="Texts"/>, computed
/// once per test class (node starts once per setting and gets all texts in one batch).
/// </summary>
public abstract class ReferenceTokenizerFixture : IDisposable
{
    private readonly Lazy<IReadOnlyList<NodeResult>> _withSpecial;
    private readonly Lazy<IReadOnlyList<NodeResult>> _withoutSpecial;
    private readonly bool _ownsTokenizerDir;

    /// <param name="tokenizerDir">Folder to load.</param>
    /// <param name="texts">Texts to compare on.</param>
    /// <param name="gpt2Reference">Use gpt-3-encoder instead of @lenml/tokenizers.</param>
    /// <param name="ownsTokenizerDir">Delete the folder on dispose (temp copies, never shared fixtures).</param>
    protected ReferenceTokenizerFixture(string tokenizerDir, string[] texts, bool gpt2Reference = false, bool ownsTokenizerDir = false)
    {
        TokenizerDir = tokenizerDir;
        Texts = texts;
        _ownsTokenizerDir = ownsTokenizerDir;
        Tokenizer = HfTokenizer.Load(tokenizerDir);
        _withSpecial = new(() => gpt2Reference ? NodeReference.TokenizeGpt2(texts) : NodeReference.Tokenize(tokenizerDir, texts, true));
        _withoutSpecial = new(() => gpt2Reference ? _withSpecial.Value : NodeReference.Tokenize(tokenizerDir, texts, false));
    }

    public string TokenizerDir { get; }

    public string[] Texts { get; }

    public HfTokenizer Tokenizer { get; }

    public IReadOnlyList<NodeResult> Reference(bool addSpecialTokens) => addSpecialTokens ? _withSpecial.Value : _withoutSpecial.Value;

    public void Dispose()
    {
        if (_ownsTokenizerDir && Directory.Exists(TokenizerDir))
        {
            Directory.Delete(TokenizerDir, recursive: true);
        }

        GC.SuppressFinalize(this);
    }
}

public sealed class Qwen3Fixture() : ReferenceTokenizerFixture(Fixtures.TokenizerDir("qwen3"), ReferenceTexts.All);

public sealed class Llama3Fixture() : ReferenceTokenizerFixture(Fixtures.TokenizerDir("llama3"), ReferenceTexts.All);

public sealed class Gemma3Fixture() : ReferenceTokenizerFixture(Fixtures.TokenizerDir("gemma3"), ReferenceTexts.All);

/// <summary>GPT-2 as a vocab.json + merges.txt folder (no tokenizer.json), checked against gpt-3-encoder.</summary>
public sealed class Gpt2Fixture() : ReferenceTokenizerFixture(Fixtures.CreateGpt2VocabMergesDir(), ReferenceTexts.Plain, gpt2Reference: true, ownsTokenizerDir: true);
