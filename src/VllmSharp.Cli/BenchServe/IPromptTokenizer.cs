namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// The tokenizer the benchmark builds prompts of exact token lengths with and counts tokens by: a local model's
/// tokenizer (<see cref="LocalPromptTokenizer"/>) or the server's <c>/tokenize</c> + <c>/detokenize</c>
/// (<see cref="ServerPromptTokenizer"/>).
/// </summary>
public interface IPromptTokenizer
{
    /// <summary>A short description for the log ("local: path", "server /tokenize").</summary>
    string Source { get; }

    /// <summary>Tokens the tokenizer adds around a prompt (BOS/EOS), as HF's num_special_tokens_to_add.</summary>
    int NumSpecialTokens { get; }

    /// <summary>Ids that are plain text tokens (not special), to draw random prompts from; null when unknown.</summary>
    int[]? TextTokenIds { get; }

    /// <summary>Encodes without adding special tokens.</summary>
    int[] Encode(string text);

    string Decode(int[] ids);
}
