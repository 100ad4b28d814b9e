namespace VllmSharp.Engine.Tokenization;

/// <summary>A tokenizer could not be loaded: files missing, malformed, or using unsupported features.</summary>
public sealed class TokenizerLoadException : Exception
{
    public TokenizerLoadException(string message)
        : base(message)
    {
    }

    public TokenizerLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
