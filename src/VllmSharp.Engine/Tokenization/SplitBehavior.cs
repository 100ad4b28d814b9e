namespace VllmSharp.Engine.Tokenization;

/// <summary>How a Split pre-tokenizer treats the matched delimiters (Hugging Face names).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}
