using System.Threading.Channels;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Requests;

namespace VllmSharp.Engine.Core;

/// <summary>
/// Runs an <see cref="EngineCore"/> on one dedicated thread (the in-process counterpart of vLLM's EngineCoreProc):
/// requests and aborts come in through one channel, each step's outputs go out through another. The loop steps
/// while there is work and blocks on the input channel when there is none.
/// </summary>
public sealed class EngineCoreThread : IDisposable
{
    private readonly EngineCore _core;
    private readonly Channel<EngineCoreInput> _inputs = Channel.CreateUnbounded<EngineCoreInput>(new() { SingleReader = true });
    private readonly Channel<IReadOnlyList<EngineCoreOutput>> _outputs = Channel.CreateUnbounded<IReadOnlyList<EngineCoreOutput>>(new() { SingleWriter = true });
    private readonly Thread _thread;

    public EngineCoreThread(EngineCore core)
    {
        _core = core;
        _thread = new Thread(Loop) { IsBackground = true, Name = "vllmsharp-engine-core" };
        _thread.Start();
    }

    /// <summary>Step outputs; completes with the exception when the engine fails.</summary>
    public ChannelReader<IReadOnlyList<EngineCoreOutput>> Outputs => _outputs.Reader;

    public void AddRequest(Request request) => _inputs.Writer.TryWrite(new EngineCoreInput(request, null));

    public void AbortRequests(IReadOnlyList<string> requestIds) => _inputs.Writer.TryWrite(new EngineCoreInput(null, requestIds));

    private void Loop()
    {
        try
        {
            ChannelReader<EngineCoreInput> reader = _inputs.Reader;
            while (true)
            {
                if (!_core.HasUnfinishedRequests && !reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;
                while (reader.TryRead(out EngineCoreInput input))
                {
                    if (input.Request is not null) _core.AddRequest(input.Request);
                    if (input.AbortIds is not null) _core.AbortRequests(input.AbortIds);
                }
                IReadOnlyList<EngineCoreOutput> outputs = _core.Step();
                if (outputs.Count > 0) _outputs.Writer.TryWrite(outputs);
            }
            _outputs.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _outputs.Writer.TryComplete(e);
        }
    }

    public void Dispose()
    {
        _inputs.Writer.TryComplete();
        _thread.Join();
    }

    private readonly record struct EngineCoreInput(Request? Request, IReadOnlyList<string>? AbortIds);
}
