using VllmSharp.Engine.Tests.Outputs;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>
/// A <see cref="FakeTokenizer"/> whose token bytes can be held back (reads block until <see cref="Open"/>) or
/// broken (reads throw <see cref="Failure"/>), to drive the vocabulary trie build from tests. Counts the reads
/// that reached it, so a test can tell that a build has started.
/// </summary>
internal sealed class GatedTokenizer(params string[] pieces) : ITokenizer
{
    private readonly FakeTokenizer _inner = new(pieces);
    private readonly ManualResetEventSlim _gate = new(initialState: true);
    private int _reads;

    public Exception? Failure { get; init; }

    /// <summary>Token byte reads so far (each trie build reads every token once).</summary>
    public int Reads => Volatile.Read(ref _reads);

    public void Close() => _gate.Reset();
    public void Open() => _gate.Set();

    public int VocabSize => _inner.VocabSize;
    public int? BosTokenId => _inner.BosTokenId;
    public IReadOnlyList<int> EosTokenIds => _inner.EosTokenIds;
    public string? ChatTemplate => _inner.ChatTemplate;
    public int DecodeStripLeadingSpaces => _inner.DecodeStripLeadingSpaces;
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true) => _inner.Encode(text, addSpecialTokens);
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true) => _inner.Decode(ids, skipSpecialTokens);
    public bool IsSpecial(int id) => _inner.IsSpecial(id);
    public string? IdToToken(int id) => _inner.IdToToken(id);
    public int? TokenToId(string token) => _inner.TokenToId(token);

    public ReadOnlySpan<byte> GetTokenBytes(int id)
    {
        Interlocked.Increment(ref _reads);
        _gate.Wait();
        if (Failure is not null) throw Failure;
        return _inner.GetTokenBytes(id);
    }
}
