namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// What the engine needs from a tokenizer: text ↔ token ids, special-token facts and the chat
/// template. Implemented by <see cref="HfTokenizer"/> (Hugging Face files) and, later, by the
/// tokenizer embedded in GGUF metadata.
/// </summary>
public interface ITokenizer
{
    /// <summary>Number of token ids, including added tokens (max id + 1).</summary>
    int VocabSize { get; }

    /// <summary>Id of the beginning-of-sequence token, or null when the model has none.</summary>
    int? BosTokenId { get; }

    /// <summary>All ids that end generation (tokenizer eos ∪ generation_config eos, as vLLM does).</summary>
    IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>The Jinja chat template, or null when the model has none.</summary>
    string? ChatTemplate { get; }

    /// <summary>
    /// Number of leading spaces <see cref="Decode"/> removes from the start of the decoded text
    /// (SentencePiece-style decoders drop the space the encoder prepended); 0 for byte-level BPE.
    /// </summary>
    int DecodeStripLeadingSpaces { get; }

    /// <summary>
    /// Encodes <paramref name="text"/>. Special-token text in the input (e.g. "&lt;|im_start|&gt;") is
    /// always recognised as that token; <paramref name="addSpecialTokens"/> adds BOS/EOS where the
    /// model's post-processor says so, like Hugging Face's <c>encode</c>.
    /// </summary>
    IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true);

    /// <summary>Decodes ids to text; invalid UTF-8 becomes U+FFFD and ids outside the vocabulary are skipped.</summary>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true);

    /// <summary>True for ids of special added tokens (those <c>skipSpecialTokens</c> removes).</summary>
    bool IsSpecial(int id);

    /// <summary>The token's vocabulary string (e.g. "Ġhello"), or null for an unknown id.</summary>
    string? IdToToken(int id);

    /// <summary>The id of a vocabulary string, or null when it is not a token.</summary>
    int? TokenToId(string token);

    /// <summary>
    /// The UTF-8 bytes this token contributes to <see cref="Decode"/> output (before the leading
    /// strip); empty for unknown ids. May hold part of a multi-byte character.
    /// </summary>
    ReadOnlySpan<byte> GetTokenBytes(int id);
}
