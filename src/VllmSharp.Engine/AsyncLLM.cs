using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using VllmSharp.Core.Config;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Core;
using VllmSharp.Engine.Outputs;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine;

/// <summary>
/// The asynchronous engine frontend (vLLM's AsyncLLM): the engine core runs on its own thread; each request is an
/// <see cref="IAsyncEnumerable{T}"/> of <see cref="RequestOutput"/>s. Stopping the enumeration early (cancellation,
/// a disconnected client, <c>break</c>) aborts the request and frees its KV blocks.
/// </summary>
public sealed class AsyncLLM : IDisposable
{
    private readonly LoadedEngine _engine;
    private readonly InputProcessor _inputProcessor;
    private readonly OutputProcessor _outputProcessor;
    private readonly object _outputLock = new();
    private readonly EngineCoreThread _coreThread;
    private readonly ConcurrentDictionary<string, RequestStream> _streams = new();
    private readonly Task _outputHandler;
    private volatile EngineDeadException? _dead;

    public AsyncLLM(EngineArgs args, Action<string>? log = null) : this(EngineFactory.Create(args, log))
    {
    }

    /// <summary>Runs an engine built elsewhere (tests put fault-injecting models in it).</summary>
    internal AsyncLLM(LoadedEngine engine)
    {
        _engine = engine;
        _inputProcessor = new InputProcessor(_engine.Tokenizer, _engine.MaxModelLen, _engine.BlockSize, _engine.PromptVocabSize);
        _outputProcessor = new OutputProcessor(_engine.Tokenizer);
        _coreThread = new EngineCoreThread(_engine.Core);
        _outputHandler = Task.Run(HandleOutputsAsync);
    }

    public ITokenizer Tokenizer => _engine.Tokenizer;
    public int MaxModelLen => _engine.MaxModelLen;
    /// <summary>--max-num-seqs: at most this many requests run in one step.</summary>
    public int MaxNumSeqs => _engine.Core.Scheduler.Config.MaxNumSeqs;
    public string ModelPath => _engine.ModelPath;
    internal EngineCore EngineCore => _engine.Core;

    public EngineStats Stats
    {
        get
        {
            var scheduler = _engine.Core.Scheduler;
            var kv = scheduler.KVCacheManager;
            return new EngineStats(scheduler.NumRunning, scheduler.NumWaiting, kv.NumBlocks, kv.NumFreeBlocks, kv.Stats.Queries, kv.Stats.Hits);
        }
    }

    /// <summary>Raised on the output-handling thread when a request finishes (metrics).</summary>
    public event Action<RequestFinishedInfo>? RequestFinished;

    /// <summary>Raised on the output-handling thread per delivered output: new tokens and seconds since the request's previous output.</summary>
    public event Action<int, double>? TokensDelivered;

    /// <summary>False once the engine core has failed; every request then fails with <see cref="EngineDeadException"/>.</summary>
    public bool IsHealthy => _dead is null;

    /// <summary>Requests still being generated.</summary>
    public int NumUnfinishedRequests => _streams.Count;

    /// <summary>
    /// Streams the outputs of one request. Validation errors (bad params, prompt too long) are thrown when the
    /// enumeration starts, before anything reaches the engine.
    /// </summary>
    public async IAsyncEnumerable<RequestOutput> GenerateAsync(PromptInput prompt, SamplingParams samplingParams, string requestId,
        int priority = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (_dead is { } dead) throw dead;
        ProcessedRequest request = _inputProcessor.Process(requestId, prompt, samplingParams, Now(), priority);
        var stream = new RequestStream(request.Children.Select(c => c.RequestId).ToArray(), samplingParams.OutputKind, request.ArrivalTime);
        if (!_streams.TryAdd(requestId, stream))
            throw new InvalidRequestException($"Request id '{requestId}' is already in use.", "request_id");
        lock (_outputLock)
            _outputProcessor.AddRequest(requestId, request.Prompt, request.PromptTokenIds, request.Params, request.ArrivalTime, stream.ChildIds);
        foreach (var child in request.Children) _coreThread.AddRequest(child);
        // The engine may have died between the check above and registering the stream: don't wait forever.
        if (_dead is { } died) stream.Channel.Writer.TryComplete(died);

        bool finished = false;
        try
        {
            await foreach (RequestOutput output in stream.Channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                finished = output.Finished;
                yield return output;
                if (finished) yield break;
            }
        }
        finally
        {
            if (!finished) Abort(requestId);
            _streams.TryRemove(requestId, out _);
        }
    }

    /// <summary>Stops a request wherever it is and frees its blocks; unknown ids are ignored.</summary>
    public void Abort(string requestId)
    {
        if (!_streams.TryGetValue(requestId, out RequestStream? stream)) return;
        lock (_outputLock) _outputProcessor.AbortRequests([requestId]);
        _coreThread.AbortRequests(stream.ChildIds);
        stream.Channel.Writer.TryComplete();
    }

    private async Task HandleOutputsAsync()
    {
        try
        {
            await foreach (IReadOnlyList<EngineCoreOutput> outputs in _coreThread.Outputs.ReadAllAsync().ConfigureAwait(false))
            {
                ProcessedOutputs processed;
                lock (_outputLock) processed = _outputProcessor.ProcessOutputs(outputs, Now());
                if (processed.ChildRequestsToAbort.Count > 0) _coreThread.AbortRequests(processed.ChildRequestsToAbort);
                double now = Now();
                foreach (RequestOutput output in processed.RequestOutputs)
                {
                    if (!_streams.TryGetValue(output.RequestId, out RequestStream? stream)) continue;
                    Observe(stream, output, now);
                    stream.Channel.Writer.TryWrite(output);
                }
            }
        }
        catch (Exception e)
        {
            // The engine failed: every open and every later request fails with the error (the server maps it to a 500).
            _dead = new EngineDeadException(e);
            foreach (RequestStream stream in _streams.Values) stream.Channel.Writer.TryComplete(_dead);
        }
    }

    private void Observe(RequestStream stream, RequestOutput output, double now)
    {
        int tokens = 0;
        foreach (CompletionOutput completion in output.Outputs) tokens += completion.TokenIds.Count;
        int added = stream.Kind == RequestOutputKind.Delta ? tokens : tokens - stream.Generated;
        stream.Generated += added;
        if (added > 0) TokensDelivered?.Invoke(added, now - stream.LastOutputTime);
        stream.LastOutputTime = now;
        if (output.Finished) RequestFinished?.Invoke(new RequestFinishedInfo(output, output.PromptTokenIds.Count, stream.Generated));
    }

    private static double Now() => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    public void Dispose()
    {
        _coreThread.Dispose();
        _outputHandler.Wait();
        _engine.Dispose();
    }

    private sealed class RequestStream(string[] childIds, RequestOutputKind kind, double arrivalTime)
    {
        public string[] ChildIds { get; } = childIds;
        public RequestOutputKind Kind { get; } = kind;
        public int Generated { get; set; }
        public double LastOutputTime { get; set; } = arrivalTime;
        public Channel<RequestOutput> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<RequestOutput>(new() { SingleReader = true });
    }
}
