using System.Runtime.InteropServices;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.Outputs;

/// <summary>
/// One completion (one child request) as the output processor tracks it: its token ids, its text
/// (appended token by token, never re-decoded), stop-string detection with holdback, and how much
/// of both was already reported, so a Delta output carries only what is new.
/// </summary>
internal sealed class CompletionState
{
    private readonly SamplingParams _params;
    private readonly IncrementalDetokenizer? _detokenizer;
    private readonly List<int> _tokenIds = [];
    /// <summary>Characters held back while unfinished so a partial stop string is never streamed.</summary>
    private readonly int _holdback;
    private char[] _text = new char[64];
    private int _textLength;
    private double? _cumulativeLogprob;
    /// <summary>Per-token logprobs, aligned with <see cref="_tokenIds"/> (null unless the request asked for logprobs).</summary>
    private readonly List<PositionLogprobs>? _logprobs;
    private int _reportedTextLength;
    private int _reportedTokenCount;
    private bool _finishReported;
    // Cumulative outputs repeat the whole text every step; reuse the last snapshot while it is unchanged
    // (finished siblings of an n > 1 request would otherwise be copied again every step). Text and ids
    // only ever grow or are cut back to a prefix, so an equal length means equal content.
    private string _cumulativeText = string.Empty;
    private int[] _cumulativeTokens = [];

    public CompletionState(string childRequestId, int index, ITokenizer tokenizer, IReadOnlyList<int> promptTokenIds, SamplingParams samplingParams)
    {
        ChildRequestId = childRequestId;
        Index = index;
        _params = samplingParams;
        if (samplingParams.Detokenize)
        {
            _detokenizer = new IncrementalDetokenizer(tokenizer, samplingParams.SkipSpecialTokens, AsSpan(promptTokenIds));
            if (!samplingParams.IncludeStopStrInOutput)
            {
                int maxStopLength = 0;
                foreach (string stop in samplingParams.Stop)
                {
                    maxStopLength = Math.Max(maxStopLength, stop.Length);
                }

                _holdback = Math.Max(0, maxStopLength - 1);
            }
        }

        if (samplingParams.Logprobs is not null)
        {
            _cumulativeLogprob = 0;
            _logprobs = [];
        }
    }

    public string ChildRequestId { get; }

    public int Index { get; }

    public string? FinishReason { get; private set; }

    public object? StopReason { get; private set; }

    public bool IsFinished => FinishReason is not null;

    /// <summary>
    /// Applies one engine-core output: appends tokens and text, checks stop strings, records a finish.
    /// Returns true when a stop string finished this completion while the core still runs it (so the
    /// core must abort it). Outputs arriving after the completion finished are ignored.
    /// </summary>
    public bool Update(EngineCoreOutput output)
    {
        if (IsFinished)
        {
            return false;
        }

        IReadOnlyList<int> newTokens = output.NewTokenIds;
        if (_cumulativeLogprob is not null && output.NewTokenLogprob is double logprob)
        {
            _cumulativeLogprob += logprob;
        }

        if (_logprobs is not null && output.NewLogprobs is { } newLogprobs)
        {
            _logprobs.AddRange(newLogprobs);
        }

        string? coreFinishReason = output.FinishStatus?.FinishReason();
        // As vLLM: the token that stopped generation (EOS or a stop token id) is kept in the token ids
        // but its text is not shown unless the user asked for the stop text.
        bool hideLastToken = output.FinishStatus == RequestStatus.FinishedStopped
            && !_params.IncludeStopStrInOutput && newTokens.Count > 0;
        int detokenizedCount = hideLastToken ? newTokens.Count - 1 : newTokens.Count;

        // Text produced while still below min_tokens must not end the request, so the stop search
        // starts after it.
        int stopCheckStart = _textLength;
        for (int i = 0; i < detokenizedCount; i++)
        {
            int id = newTokens[i];
            _tokenIds.Add(id);
            if (_detokenizer is not null)
            {
                AppendText(_detokenizer.Add(id));
            }

            if (_tokenIds.Count <= _params.MinTokens)
            {
                stopCheckStart = _textLength;
            }
        }

        if (hideLastToken)
        {
            _tokenIds.Add(newTokens[^1]);
        }

        if (coreFinishReason is not null && _detokenizer is not null)
        {
            // An incomplete character at the very end shows as U+FFFD, exactly as a full Decode would.
            AppendText(_detokenizer.Flush());
        }

        if (_detokenizer is not null && _params.Stop.Count > 0 && _tokenIds.Count > _params.MinTokens
            && _textLength > stopCheckStart && TryFinishOnStopString(stopCheckStart))
        {
            return !output.Finished;
        }

        if (coreFinishReason is not null)
        {
            FinishReason = coreFinishReason;
            StopReason = output.StopReason;
        }

        return false;
    }

    /// <summary>
    /// Builds this completion's output for <paramref name="kind"/>: the text and token ids so far
    /// (Cumulative, FinalOnly) or only those new since the last output (Delta, which returns null
    /// when there is nothing new at all).
    /// </summary>
    public CompletionOutput? MakeOutput(RequestOutputKind kind)
    {
        int visibleLength = VisibleTextLength();
        if (kind == RequestOutputKind.Delta)
        {
            bool newlyFinished = IsFinished && !_finishReported;
            int newChars = visibleLength - _reportedTextLength;
            int newTokens = _tokenIds.Count - _reportedTokenCount;
            if (newChars <= 0 && newTokens == 0 && !newlyFinished)
            {
                return null;
            }

            string text = newChars > 0 ? new string(_text, _reportedTextLength, newChars) : string.Empty;
            int[] tokens = CollectionsMarshal.AsSpan(_tokenIds)[_reportedTokenCount..].ToArray();
            PositionLogprobs[]? logprobs = _logprobs is null ? null : CollectionsMarshal.AsSpan(_logprobs)[Math.Min(_reportedTokenCount, _logprobs.Count)..].ToArray();
            MarkReported(visibleLength);
            return Create(text, tokens, logprobs);
        }

        if (_cumulativeText.Length != visibleLength)
        {
            _cumulativeText = new string(_text, 0, visibleLength);
        }

        if (_cumulativeTokens.Length != _tokenIds.Count)
        {
            _cumulativeTokens = _tokenIds.ToArray();
        }

        MarkReported(visibleLength);
        return Create(_cumulativeText, _cumulativeTokens, _logprobs?.ToArray());
    }

    private bool TryFinishOnStopString(int newTextStart)
    {
        IReadOnlyList<string> stops = _params.Stop;
        int at = StopStringMatcher.Find(_text.AsSpan(0, _textLength), newTextStart, stops, out int stopIndex);
        if (at < 0)
        {
            return false;
        }

        string stop = stops[stopIndex];
        _textLength = _params.IncludeStopStrInOutput ? at + stop.Length : at;
        FinishReason = "stop";
        StopReason = stop;
        return true;
    }

    /// <summary>The text callers may see now: all of it once finished, else all but the holdback.</summary>
    private int VisibleTextLength()
    {
        if (IsFinished || _holdback == 0)
        {
            return _textLength;
        }

        int cut = _textLength - _holdback;
        if (cut <= 0)
        {
            return 0;
        }

        // Never stream half of a surrogate pair: the next output would start with a lone low surrogate.
        if (char.IsHighSurrogate(_text[cut - 1]))
        {
            cut--;
        }

        // Holdback can only grow the visible text: a stop string found later always starts at or after
        // the held-back region, so nothing already reported is ever taken back.
        return Math.Max(cut, _reportedTextLength);
    }

    private void MarkReported(int visibleLength)
    {
        _reportedTextLength = visibleLength;
        _reportedTokenCount = _tokenIds.Count;
        _finishReported = IsFinished;
    }

    private CompletionOutput Create(string text, int[] tokenIds, PositionLogprobs[]? logprobs) => new()
    {
        Logprobs = logprobs,
        Index = Index,
        Text = text,
        TokenIds = tokenIds,
        CumulativeLogprob = _cumulativeLogprob,
        FinishReason = FinishReason,
        StopReason = StopReason,
    };

    private void AppendText(string piece)
    {
        if (piece.Length == 0)
        {
            return;
        }

        if (_textLength + piece.Length > _text.Length)
        {
            Array.Resize(ref _text, Math.Max(_text.Length * 2, _textLength + piece.Length));
        }

        piece.CopyTo(_text.AsSpan(_textLength));
        _textLength += piece.Length;
    }

    private static ReadOnlySpan<int> AsSpan(IReadOnlyList<int> ids) => ids switch
    {
        int[] array => array,
        List<int> list => CollectionsMarshal.AsSpan(list),
        _ => ids.ToArray(),
    };
}
