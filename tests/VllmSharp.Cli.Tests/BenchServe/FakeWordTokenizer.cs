using VllmSharp.Cli.BenchServe;

namespace VllmSharp.Cli.Tests.BenchServe;

/// <summary>A tokenizer with one token per space-separated word "w{id}"; decode/encode round-trips exactly.</summary>
internal sealed class FakeWordTokenizer(int vocabSize, int numSpecialTokens = 0) : IPromptTokenizer
{
    public string Source => "fake";
    public int NumSpecialTokens => numSpecialTokens;
    public int[]? TextTokenIds { get; } = Enumerable.Range(0, vocabSize).ToArray();

    public int[] Encode(string text)
        => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => w.StartsWith('w') && int.TryParse(w.AsSpan(1), out int id) ? id : w.Length).ToArray();

    public string Decode(int[] ids) => string.Join(' ', ids.Select(id => "w" + id));
}
