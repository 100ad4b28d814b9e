namespace VllmSharp.Engine.Tokenization.ChatTemplates;

/// <summary>
/// A chat template could not be parsed (syntax error or a Jinja feature this subset does not
/// support) or failed while rendering (e.g. <c>raise_exception</c>, a type error).
/// </summary>
public sealed class ChatTemplateException : Exception
{
    public ChatTemplateException(string message)
        : base(message)
    {
    }

    public ChatTemplateException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
