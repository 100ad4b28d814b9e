using System.Text;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.Tests.Outputs;

/// <summary>
/// A tokenizer whose token i is exactly the bytes of piece i, so tests know every token's text.
/// Pieces written "&lt;|…|&gt;" are special tokens; id 0 is "&lt;|eos|&gt;". Raw byte pieces (half
/// a UTF-8 character) can be added with <see cref="AddBytes"/>. Decode is plain concatenation, an
/// independent reference for what the incremental path must produce.
/// </summary>
internal sealed class FakeTokenizer : ITokenizer
{
    public const int Eos = 0;

    private readonly List<byte[]> _pieces = [];
    private readonly List<bool> _special = [];

    public FakeTokenizer(params string[] pieces)
    {
        Add("<|eos|>");
        foreach (string piece in pieces)
        {
            Add(piece);
        }
    }

    public int VocabSize => _pieces.Count;

    public int? BosTokenId => null;

    public IReadOnlyList<int> EosTokenIds => [Eos];

    public string? ChatTemplate => null;

    public int DecodeStripLeadingSpaces => 0;

    /// <summary>Adds a piece and returns its id (an existing identical piece keeps its id).</summary>
    public int Add(string piece)
    {
        int existing = Find(Encoding.UTF8.GetBytes(piece));
        if (existing >= 0)
        {
            return existing;
        }

        _pieces.Add(Encoding.UTF8.GetBytes(piece));
        _special.Add(piece.StartsWith("<|", StringComparison.Ordinal) && piece.EndsWith("|>", StringComparison.Ordinal));
        return _pieces.Count - 1;
    }

    /// <summary>Adds a token made of raw bytes (e.g. half of a multi-byte character).</summary>
    public int AddBytes(params byte[] bytes)
    {
        _pieces.Add(bytes);
        _special.Add(false);
        return _pieces.Count - 1;
    }

    /// <summary>Ids of the given pieces, adding the ones not yet in the vocabulary.</summary>
    public int[] Ids(params string[] pieces)
    {
        int[] ids = new int[pieces.Length];
        for (int i = 0; i < pieces.Length; i++)
        {
            ids[i] = Add(pieces[i]);
        }

        return ids;
    }

    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true) =>
        throw new NotSupportedException("The output processor never encodes.");

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if ((uint)id < (uint)_pieces.Count && !(skipSpecialTokens && _special[id]))
            {
                bytes.AddRange(_pieces[id]);
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    public bool IsSpecial(int id) => (uint)id < (uint)_special.Count && _special[id];

    public string? IdToToken(int id) => (uint)id < (uint)_pieces.Count ? Encoding.UTF8.GetString(_pieces[id]) : null;

    public int? TokenToId(string token)
    {
        int id = Find(Encoding.UTF8.GetBytes(token));
        return id >= 0 ? id : null;
    }

    public ReadOnlySpan<byte> GetTokenBytes(int id) => (uint)id < (uint)_pieces.Count ? _pieces[id] : [];

    private int Find(byte[] bytes)
    {
        for (int i = 0; i < _pieces.Count; i++)
        {
            if (_pieces[i].AsSpan().SequenceEqual(bytes))
            {
                return i;
            }
        }

        return -1;
    }
}
