using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// One request's position in its constraint (vLLM's grammar matcher): gives the allowed-token mask for the next
/// step and advances by each sampled token. Driven by the engine thread only.
/// </summary>
public sealed class StructuredOutputMatcher
{
    private readonly StructuredOutputGrammar _grammar;
    private readonly ITokenizer _tokenizer;
    private int _state;

    internal StructuredOutputMatcher(StructuredOutputGrammar grammar, ITokenizer tokenizer)
    {
        _grammar = grammar;
        _tokenizer = tokenizer;
        _state = grammar.StartState;
    }

    public StructuredOutputGrammar Grammar => _grammar;

    /// <summary>The output so far is a complete match (EOS is allowed now).</summary>
    public bool IsAccepting => !IsTerminated && _grammar.IsAccepting(_state);

    /// <summary>EOS was accepted, or a token outside the constraint was forced in (then only EOS is allowed).</summary>
    public bool IsTerminated { get; private set; }

    /// <summary>Allowed tokens for the next step; see <see cref="StructuredOutputGrammar"/> for the EOS rule.</summary>
    public ulong[] AllowedTokens() => _grammar.Mask(IsTerminated ? LazyDfa.Dead : _state);

    /// <summary>Consumes a sampled token; false when the constraint rejects it (the matcher then only allows EOS).</summary>
    public bool Advance(int tokenId)
    {
        if (IsTerminated) return false;
        if (_grammar.IsEos(tokenId))
        {
            bool ok = _grammar.IsAccepting(_state);
            IsTerminated = true;
            return ok;
        }
        if ((uint)tokenId >= (uint)_grammar.VocabSize || _tokenizer.IsSpecial(tokenId)) return Reject();
        ReadOnlySpan<byte> bytes = _tokenizer.GetTokenBytes(tokenId);
        if (bytes.IsEmpty) return Reject();
        int next = _grammar.Advance(_state, bytes);
        if (next == LazyDfa.Dead) return Reject();
        _state = next;
        return true;
    }

    private bool Reject()
    {
        IsTerminated = true;
        return false;
    }
}
