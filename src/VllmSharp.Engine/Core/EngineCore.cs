using VllmSharp.Core.Outputs;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Scheduling;

namespace VllmSharp.Engine.Core;

/// <summary>
/// The engine core (vLLM v1's EngineCore): owns the scheduler, the KV cache manager and the model runner, and
/// advances every request by one step at a time. Not thread-safe: one thread drives it (<see cref="EngineCoreThread"/>
/// for the async frontend, the caller's thread for the offline <c>LLM</c>).
/// </summary>
public sealed class EngineCore : IDisposable
{
    private readonly Scheduler _scheduler;
    private readonly ModelRunner _modelRunner;

    public EngineCore(Scheduler scheduler, ModelRunner modelRunner)
    {
        _scheduler = scheduler;
        _modelRunner = modelRunner;
    }

    public Scheduler Scheduler => _scheduler;
    public ModelRunner ModelRunner => _modelRunner;
    public bool HasUnfinishedRequests => _scheduler.HasUnfinishedRequests;

    public void AddRequest(Request request) => _scheduler.AddRequest(request);

    public void AbortRequests(IEnumerable<string> requestIds) => _scheduler.FinishRequests(requestIds, RequestStatus.FinishedAborted);

    /// <summary>Schedule → execute → sample → update; returns the outputs of the requests that advanced.</summary>
    public IReadOnlyList<EngineCoreOutput> Step()
    {
        if (!_scheduler.HasUnfinishedRequests) return [];
        SchedulerOutput batch = _scheduler.Schedule();
        ModelRunnerOutput result = _modelRunner.Execute(batch);
        return _scheduler.Update(batch, result);
    }

    public void Dispose() => _modelRunner.Model.Dispose();
}
