namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// A tokenizer as llama.cpp stores it in GGUF metadata (<c>tokenizer.ggml.*</c>, <c>tokenizer.chat_template</c>),
/// for writing model files. Token types use llama.cpp's numbering (<see cref="Normal"/> … <see cref="Byte"/>).
/// </summary>
public sealed record GgufVocabulary
{
    public const int Normal = 1;
    public const int Unknown = 2;
    public const int Control = 3;
    public const int UserDefined = 4;
    public const int Unused = 5;
    public const int Byte = 6;

    /// <summary><c>tokenizer.ggml.model</c>: "gpt2" (byte-level BPE) or "llama" (SentencePiece).</summary>
    public required string Model { get; init; }
    /// <summary><c>tokenizer.ggml.pre</c>: llama.cpp's pre-tokenizer name ("qwen2", "llama-bpe", …).</summary>
    public required string Pre { get; init; }
    public required string[] Tokens { get; init; }
    public required int[] TokenTypes { get; init; }
    /// <summary>BPE merges as "left right", highest priority first.</summary>
    public string[] Merges { get; init; } = [];
    public int? BosTokenId { get; init; }
    public int? EosTokenId { get; init; }
    /// <summary>A second end-of-generation id (llama.cpp's end-of-turn), when the model stops on two tokens.</summary>
    public int? EotTokenId { get; init; }
    public int? PaddingTokenId { get; init; }
    public bool AddBosToken { get; init; }
    public string? ChatTemplate { get; init; }

    public int Count => Tokens.Length;

    /// <summary>
    /// The same vocabulary filled up to <paramref name="vocabSize"/> ids with "[PAD{id}]" tokens of type
    /// <see cref="Unused"/>, as llama.cpp's converter does when a model's embedding has more rows than its
    /// tokenizer has tokens (llama.cpp requires one token per embedding row).
    /// </summary>
    public GgufVocabulary PadTo(int vocabSize)
    {
        if (vocabSize < Count)
            throw new ArgumentException($"the vocabulary has {Count} tokens, more than the model's {vocabSize}", nameof(vocabSize));
        if (vocabSize == Count) return this;
        var tokens = new string[vocabSize];
        var types = new int[vocabSize];
        Tokens.CopyTo(tokens, 0);
        TokenTypes.CopyTo(types, 0);
        for (int id = Count; id < vocabSize; id++)
        {
            tokens[id] = $"[PAD{id}]";
            types[id] = Unused;
        }
        return this with { Tokens = tokens, TokenTypes = types };
    }

    /// <summary>Adds the <c>tokenizer.*</c> keys.</summary>
    public void WriteTo(GgufWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (TokenTypes.Length != Tokens.Length)
            throw new InvalidOperationException($"{Tokens.Length} tokens but {TokenTypes.Length} token types");
        writer.AddMetadata("tokenizer.ggml.model", Model);
        writer.AddMetadata("tokenizer.ggml.pre", Pre);
        writer.AddMetadata("tokenizer.ggml.tokens", Tokens);
        writer.AddMetadata("tokenizer.ggml.token_type", TokenTypes);
        if (Model == "gpt2") writer.AddMetadata("tokenizer.ggml.merges", Merges);
        if (BosTokenId is { } bos) writer.AddMetadata("tokenizer.ggml.bos_token_id", (uint)bos);
        if (EosTokenId is { } eos) writer.AddMetadata("tokenizer.ggml.eos_token_id", (uint)eos);
        if (EotTokenId is { } eot) writer.AddMetadata("tokenizer.ggml.eot_token_id", (uint)eot);
        if (PaddingTokenId is { } pad) writer.AddMetadata("tokenizer.ggml.padding_token_id", (uint)pad);
        writer.AddMetadata("tokenizer.ggml.add_bos_token", AddBosToken);
        if (ChatTemplate is not null) writer.AddMetadata("tokenizer.chat_template", ChatTemplate);
    }
}
