using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.Outputs;

/// <summary>
/// One user request as the output processor tracks it (vLLM's <c>RequestState</c> together with
/// <c>ParentRequest</c> for n &gt; 1): its completions, one per child request, the timestamps, and
/// how its outputs are aggregated into one <see cref="RequestOutput"/> per step.
/// </summary>
internal sealed class RequestState
{
    private readonly SamplingParams _params;
    private readonly double _arrivalTime;
    private double? _firstTokenTime;
    private double? _lastTokenTime;
    private double? _finishedTime;
    private int? _numCachedTokens;
    private int _numFinished;

    public RequestState(
        string requestId, string? prompt, IReadOnlyList<int> promptTokenIds, SamplingParams samplingParams,
        double arrivalTime, IReadOnlyList<string> childRequestIds, ITokenizer tokenizer)
    {
        RequestId = requestId;
        Prompt = prompt;
        PromptTokenIds = promptTokenIds;
        _params = samplingParams;
        _arrivalTime = arrivalTime;
        Children = new CompletionState[childRequestIds.Count];
        for (int i = 0; i < Children.Length; i++)
        {
            Children[i] = new CompletionState(childRequestIds[i], i, tokenizer, promptTokenIds, samplingParams);
        }
    }

    public string RequestId { get; }

    public string? Prompt { get; }

    public IReadOnlyList<int> PromptTokenIds { get; }

    /// <summary>Completions in index order.</summary>
    public CompletionState[] Children { get; }

    public bool IsFinished => _numFinished == Children.Length;

    /// <summary>Set while this request is already listed among the step's requests to report.</summary>
    public bool PendingReport { get; set; }

    // From the first child that reports them (n > 1 children compute the same values).
    private IReadOnlyList<PositionLogprobs?>? _promptLogprobs;

    /// <summary>
    /// Applies one child's engine-core output at time <paramref name="now"/>; returns true when a
    /// stop string finished that child and the core must abort it.
    /// </summary>
    public bool Update(CompletionState child, EngineCoreOutput output, double now)
    {
        if (child.IsFinished)
        {
            return false; // a late output racing with the abort of a stop-string finish
        }

        if (output.NewTokenIds.Count > 0)
        {
            _firstTokenTime ??= now;
            _lastTokenTime = now;
        }

        _promptLogprobs ??= output.PromptLogprobs;

        if (_numCachedTokens is null && output.NumCachedTokens > 0)
        {
            _numCachedTokens = output.NumCachedTokens;
        }

        bool abortInCore = child.Update(output);
        if (child.IsFinished)
        {
            _numFinished++;
            if (IsFinished)
            {
                _finishedTime = now;
            }
        }

        return abortInCore;
    }

    /// <summary>
    /// The output this step owes the caller, or null: FinalOnly reports once, when every child has
    /// finished; Delta reports the children with something new; Cumulative reports all children.
    /// </summary>
    public RequestOutput? MakeOutput()
    {
        RequestOutputKind kind = _params.OutputKind;
        if (kind == RequestOutputKind.FinalOnly && !IsFinished)
        {
            return null;
        }

        List<CompletionOutput> outputs = new(Children.Length);
        foreach (CompletionState child in Children)
        {
            if (child.MakeOutput(kind) is { } output)
            {
                outputs.Add(output);
            }
        }

        if (outputs.Count == 0)
        {
            return null;
        }

        return new RequestOutput
        {
            RequestId = RequestId,
            Prompt = Prompt,
            PromptTokenIds = PromptTokenIds,
            Outputs = outputs,
            Finished = IsFinished,
            Metrics = new RequestMetrics
            {
                ArrivalTime = _arrivalTime,
                FirstTokenTime = _firstTokenTime,
                LastTokenTime = _lastTokenTime,
                FinishedTime = _finishedTime,
            },
            NumCachedTokens = _numCachedTokens ?? 0,
            PromptLogprobs = _promptLogprobs,
        };
    }
}
