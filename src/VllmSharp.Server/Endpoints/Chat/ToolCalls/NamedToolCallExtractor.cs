namespace VllmSharp.Server.Endpoints.Chat.ToolCalls;

/// <summary>
/// <c>tool_choice</c> naming one function: generation is constrained to that function's parameters schema, so the
/// whole text is the arguments of one call, streamed as it comes (the first piece carries id, type and name).
/// </summary>
public sealed class NamedToolCallExtractor(string functionName) : ToolCallExtractor
{
    private int _emitted;

    protected override void Process(bool final)
    {
        string piece = Text[_emitted..];
        _emitted = Text.Length;
        if (CallCount == 0)
        {
            if (piece.Length > 0 || final) EmitCall(functionName, piece);
        }
        else if (piece.Length > 0) EmitArguments(piece);
    }
}
