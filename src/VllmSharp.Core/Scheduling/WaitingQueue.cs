using VllmSharp.Core.Config;
using VllmSharp.Core.Requests;

namespace VllmSharp.Core.Scheduling;

/// <summary>
/// Requests waiting to (re)start. FCFS keeps arrival order, with preempted requests pushed back to the front;
/// the priority policy orders by (priority, arrival time) — a preempted request then sorts back to where it was.
/// </summary>
internal sealed class WaitingQueue
{
    private readonly SchedulingPolicy _policy;
    private readonly LinkedList<Request> _items = new();

    public WaitingQueue(SchedulingPolicy policy) => _policy = policy;

    public int Count => _items.Count;
    public Request? Peek() => _items.First?.Value;
    public void PopFront() => _items.RemoveFirst();
    public IEnumerable<Request> Items => _items;

    public void Add(Request request)
    {
        if (_policy == SchedulingPolicy.Fcfs)
        {
            _items.AddLast(request);
            return;
        }
        LinkedListNode<Request>? node = _items.Last;
        while (node is not null && Compare(request, node.Value) < 0) node = node.Previous;
        if (node is null) _items.AddFirst(request);
        else _items.AddAfter(node, request);
    }

    /// <summary>A preempted request goes back to the front (FCFS) or to its priority position.</summary>
    public void AddPreempted(Request request)
    {
        if (_policy == SchedulingPolicy.Fcfs) _items.AddFirst(request);
        else Add(request);
    }

    public bool Remove(Request request) => _items.Remove(request);

    /// <summary>Priority order: lower priority value first, then earlier arrival, then request id for a total order.</summary>
    public static int Compare(Request a, Request b)
    {
        int c = a.Priority.CompareTo(b.Priority);
        if (c != 0) return c;
        c = a.ArrivalTime.CompareTo(b.ArrivalTime);
        return c != 0 ? c : string.CompareOrdinal(a.RequestId, b.RequestId);
    }
}
