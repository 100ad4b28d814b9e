using System.Text;

namespace VllmSharp.Server.Endpoints.Chat.ToolCalls;

/// <summary>What one piece of generated text adds to the assistant message: content text and tool-call pieces.</summary>
public sealed record ToolCallStep(string? Content, IReadOnlyList<DeltaToolCall> ToolCalls)
{
    public bool IsEmpty => Content is null && ToolCalls.Count == 0;
}

/// <summary>
/// Turns the generated text of one choice, fed in the pieces the engine produces, into message content and tool
/// calls. The same extractor serves streaming (each step's pieces become one SSE delta) and non-streaming (the whole
/// text is pushed once with <c>final</c> and the pieces are merged by <see cref="ToolCallMessage"/>), so both
/// answers come from one piece of logic.
/// </summary>
public abstract class ToolCallExtractor
{
    private readonly StringBuilder _content = new();
    private readonly List<DeltaToolCall> _calls = [];
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _blankAfterCall = new();

    /// <summary>False for <c>parallel_tool_calls: false</c>: calls after the first are dropped.</summary>
    public bool Parallel { get; init; } = true;

    /// <summary>Call ids in Mistral's 9-character form (<see cref="ToolCall.NewMistralId"/>).</summary>
    public bool MistralIds { get; init; }

    /// <summary>Number of tool calls begun so far.</summary>
    public int CallCount { get; private set; }

    /// <summary>All text pushed so far.</summary>
    protected string Text { get; private set; } = "";

    /// <summary>Adds the next piece of generated text; <paramref name="final"/> when the choice has finished.</summary>
    public ToolCallStep Push(string piece, bool final)
    {
        _text.Append(piece);
        Text = _text.ToString();
        Process(final);
        var step = new ToolCallStep(_content.Length == 0 ? null : _content.ToString(), [.. _calls]);
        _content.Clear();
        _calls.Clear();
        return step;
    }

    /// <summary>Examines <see cref="Text"/> and emits whatever is certain now (everything when <paramref name="final"/>).</summary>
    protected abstract void Process(bool final);

    protected void EmitContent(string text)
    {
        // Blank text after a tool call is layout (newlines between call blocks) unless an answer follows it: it waits
        // for non-blank text, so a stream split at the blank gives the same content as the whole text at once.
        if (CallCount > 0 && string.IsNullOrWhiteSpace(text))
        {
            _blankAfterCall.Append(text);
            return;
        }
        _content.Append(_blankAfterCall).Append(text);
        _blankAfterCall.Clear();
    }

    /// <summary>Starts a call: its id, type, name and the arguments known so far (more may follow, <see cref="EmitArguments"/>).</summary>
    protected void EmitCall(string name, string arguments)
    {
        if (!Parallel && CallCount > 0) return;
        _blankAfterCall.Clear(); // blank text between calls is layout
        _calls.Add(new DeltaToolCall(CallCount++, MistralIds ? ToolCall.NewMistralId() : ToolCall.NewId(), "function", new DeltaFunctionCall(name, arguments)));
    }

    /// <summary>More arguments text of the call begun last.</summary>
    protected void EmitArguments(string arguments)
        => _calls.Add(new DeltaToolCall(CallCount - 1, null, null, new DeltaFunctionCall(null, arguments)));

    /// <summary>
    /// How many characters at the end of <paramref name="text"/> (from <paramref name="from"/> on) could be the start
    /// of <paramref name="marker"/>: those are held back until the next piece shows whether the marker follows.
    /// </summary>
    protected static int PartialMarkerLength(string text, int from, string marker)
    {
        for (int n = Math.Min(marker.Length - 1, text.Length - from); n > 0; n--)
            if (string.CompareOrdinal(text, text.Length - n, marker, 0, n) == 0) return n;
        return 0;
    }
}
