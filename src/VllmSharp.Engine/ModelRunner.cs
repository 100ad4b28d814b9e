using VllmSharp.Core.Config;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Scheduling;
using VllmSharp.Engine.Sampling;
using VllmSharp.Engine.StructuredOutput;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime;
using VllmSharp.Runtime.Models;

namespace VllmSharp.Engine;

/// <summary>
/// Executes a scheduler step (vLLM v1's GPUModelRunner, on CPU): flattens every scheduled request's tokens into
/// one <see cref="ForwardBatch"/>, runs the model once, and samples only the rows that reached a request's last
/// token. Owns the KV cache memory and each request's sampling state. All buffers are allocated up front.
/// </summary>
public sealed class ModelRunner
{
    private readonly ICausalLM _model;
    private readonly int _blockSize;
    private readonly ForwardBatch _batch;
    private readonly Sampler _sampler;
    private readonly Dictionary<string, SamplingState> _states = [];
    private readonly Random _seeds;
    private readonly ITokenizer? _tokenizer;
    private readonly int[] _blockTable;
    private readonly List<SamplingState> _rows;
    private readonly PromptLogprobsCollector _promptLogprobs = new();
    private float[] _logits;
    private int[] _sampled;
    private float[] _sampledLogprobs;

    /// <param name="tokenizer">Needed for requests with structured outputs (their constraints compile against its vocabulary).</param>
    public ModelRunner(ICausalLM model, int numBlocks, int blockSize, SchedulerConfig config, int seed, ITokenizer? tokenizer = null)
    {
        _tokenizer = tokenizer;
        _model = model;
        _blockSize = blockSize;
        int maxBlocksPerSeq = (config.MaxModelLen + blockSize - 1) / blockSize;
        KVCache = new KVCacheTensors(model.NumLayers, numBlocks, blockSize, model.NumKvHeads, model.HeadDim);
        _batch = new ForwardBatch(config.MaxNumBatchedTokens, Math.Min(config.MaxNumSeqs, config.MaxNumBatchedTokens), maxBlocksPerSeq);
        _sampler = new Sampler(model.VocabSize);
        _seeds = new Random(seed);
        _blockTable = new int[maxBlocksPerSeq];
        _rows = new List<SamplingState>(_batch.MaxNumSeqs);
        _logits = [];
        _sampled = [];
        _sampledLogprobs = [];
    }

    public KVCacheTensors KVCache { get; }
    public ICausalLM Model => _model;

    public ModelRunnerOutput Execute(SchedulerOutput output)
    {
        foreach (string id in output.FinishedRequestIds) _states.Remove(id);

        IReadOnlyList<ScheduledRequest> scheduled = output.ScheduledRequests;
        _batch.Clear();
        _rows.Clear();
        _promptLogprobs.Clear();
        foreach (ScheduledRequest item in scheduled)
        {
            Request request = item.Request;
            for (int b = 0; b < item.BlockIds.Count; b++) _blockTable[b] = item.BlockIds[b];
            _batch.AddSequence(request.TokenSpan(item.NumComputedTokens, item.NumScheduledTokens), item.NumComputedTokens,
                _blockTable.AsSpan(0, item.BlockIds.Count), _blockSize, item.SamplesToken);
            if (item.SamplesToken) _rows.Add(StateOf(request));
            if (request.SamplingParams.PromptLogprobs is not null && item.NumComputedTokens < request.PromptTokenIds.Count)
                _promptLogprobs.Add(_batch, request, StateOf(request), item.NumComputedTokens, item.NumScheduledTokens);
        }

        int[] sampledIds = new int[scheduled.Count];
        float[] sampledLogprobs = new float[scheduled.Count];
        Array.Fill(sampledIds, -1);
        if (_batch.NumTokens == 0) return new ModelRunnerOutput(sampledIds, sampledLogprobs);

        ReadOnlySpan<float> logits = _model.Forward(_batch, KVCache);
        int rows = _rows.Count, vocab = _model.VocabSize;
        EnsureCapacity(rows, vocab);
        _promptLogprobs.Collect(logits, vocab, _logits);
        // Masks are looked up (or computed, once per constraint state) here on the engine thread, before the
        // parallel sampler reads them.
        foreach (SamplingState state in _rows) state.AllowedTokenMask = state.StructuredOutput?.AllowedTokens();
        _sampler.Sample(_logits.AsSpan(0, rows * vocab), _rows, _sampled.AsSpan(0, rows), _sampledLogprobs.AsSpan(0, rows));

        int row = 0;
        VllmSharp.Core.Outputs.PositionLogprobs?[]? topLogprobs = null;
        IReadOnlyList<VllmSharp.Core.Outputs.PositionLogprobs?>?[]? promptLogprobs = null;
        for (int i = 0; i < scheduled.Count; i++)
        {
            if (!scheduled[i].SamplesToken) continue;
            sampledIds[i] = _sampled[row];
            sampledLogprobs[i] = _sampledLogprobs[row];
            _rows[row].AppendOutputToken(_sampled[row]);
            _rows[row].StructuredOutput?.Advance(_sampled[row]);
            if (_rows[row].SampledLogprobs is { } lp) (topLogprobs ??= new VllmSharp.Core.Outputs.PositionLogprobs?[scheduled.Count])[i] = lp;
            if (_rows[row].PromptLogprobs is { } plp && _rows[row].NumOutputTokens == 1)
                (promptLogprobs ??= new IReadOnlyList<VllmSharp.Core.Outputs.PositionLogprobs?>?[scheduled.Count])[i] = plp;
            row++;
        }
        return new ModelRunnerOutput(sampledIds, sampledLogprobs) { Logprobs = topLogprobs, PromptLogprobs = promptLogprobs };
    }

    /// <summary>A request keeps its sampling state (generator, penalty counts) across steps and preemptions.</summary>
    private SamplingState StateOf(Request request)
    {
        if (!_states.TryGetValue(request.RequestId, out SamplingState? state))
        {
            state = new SamplingState(request.SamplingParams, request.PromptTokenIds, request.EosTokenIds, _seeds.NextInt64());
            if (request.SamplingParams.StructuredOutputs is { } constraint)
            {
                if (_tokenizer is null) throw new InvalidOperationException("Structured outputs need the model runner to have the tokenizer.");
                state.StructuredOutput = StructuredOutputManager.For(_tokenizer).CreateMatcher(constraint);
            }
            state.Processors = LogitsProcessors.Create(request.SamplingParams, _tokenizer);
            _states[request.RequestId] = state;
        }
        return state;
    }

    private void EnsureCapacity(int rows, int vocab)
    {
        if (_sampled.Length >= rows) return;
        _logits = new float[rows * vocab];
        _sampled = new int[rows];
        _sampledLogprobs = new float[rows];
    }
}
