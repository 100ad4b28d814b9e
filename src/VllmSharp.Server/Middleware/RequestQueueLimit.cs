using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Middleware;

/// <summary>
/// <c>--max-waiting-requests N</c> (ours; vLLM's scheduler queue is unbounded): bounds how many generation requests
/// may wait behind the <c>--max-num-seqs</c> the scheduler runs at once.
/// <para>
/// Precisely: a generation request (POST <c>/v1/completions</c> or <c>/v1/chat/completions</c>) is <em>admitted</em>
/// when it arrives and <em>released</em> when its response has ended (finished, failed, refused by validation, or the
/// client went away and the engine request was aborted). At most <c>max-num-seqs + N</c> requests are admitted at a
/// time; the scheduler runs at most <c>max-num-seqs</c> of them, so at most N are waiting (in the scheduler's waiting
/// queue, or admitted but not yet handed to it: reading the body, tokenizing). The next request gets 503 with an
/// OpenAI error body and <c>Retry-After</c> before its body is read, so a refusal costs no parsing or tokenizing.
/// </para>
/// <para>
/// Admission is one compare-and-swap on a counter, so concurrent arrivals can never push it past the capacity. Other
/// routes (<c>/health</c>, <c>/metrics</c>, <c>/v1/models</c>, <c>/tokenize</c>…) are never limited. The count is per
/// request, not per sequence: a request with <c>n</c> &gt; 1 takes <c>n</c> scheduler slots but one admission, and
/// when KV blocks run short fewer than max-num-seqs run, so more than N may then sit in the scheduler's queue.
/// </para>
/// </summary>
public sealed class RequestQueueLimit
{
    private static readonly string[] s_generationPaths = ["/v1/completions", "/v1/chat/completions"];

    private int _admitted;
    private long _refused;

    public RequestQueueLimit(int maxNumSeqs, int maxWaitingRequests)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNumSeqs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxWaitingRequests);
        MaxNumSeqs = maxNumSeqs;
        MaxWaitingRequests = maxWaitingRequests;
        // long arithmetic: a huge --max-waiting-requests must mean "practically unlimited", not overflow.
        Capacity = (int)Math.Min(int.MaxValue, (long)maxNumSeqs + maxWaitingRequests);
    }

    public int MaxNumSeqs { get; }
    public int MaxWaitingRequests { get; }

    /// <summary>How many generation requests may be admitted at once: max-num-seqs + max-waiting-requests.</summary>
    public int Capacity { get; }

    /// <summary>Generation requests admitted and not yet released.</summary>
    public int Admitted => Volatile.Read(ref _admitted);

    /// <summary>Requests refused with 503 since start-up.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Takes one admission if one is free. A compare-and-swap loop rather than increment-then-undo, so a
    /// refused arrival never briefly occupies a slot that a concurrent arrival would then be refused for.</summary>
    public bool TryEnter()
    {
        while (true)
        {
            int current = Volatile.Read(ref _admitted);
            if (current >= Capacity)
            {
                Interlocked.Increment(ref _refused);
                return false;
            }
            if (Interlocked.CompareExchange(ref _admitted, current + 1, current) == current) return true;
        }
    }

    /// <summary>Gives back an admission taken by <see cref="TryEnter"/>.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _admitted) >= 0) return;
        Interlocked.Increment(ref _admitted); // undo, so one stray call cannot make room for an extra request forever
        throw new InvalidOperationException("RequestQueueLimit.Exit without a matching TryEnter.");
    }

    /// <summary>Whether the request is one that generates (and so is limited).</summary>
    public static bool IsGeneration(HttpRequest request)
    {
        if (!HttpMethods.IsPost(request.Method)) return false;
        // Routing matches case-insensitively and tolerates a trailing slash; so must the limit, or it could be bypassed.
        ReadOnlySpan<char> requested = (request.Path.Value ?? "").AsSpan().TrimEnd('/');
        foreach (string path in s_generationPaths)
            if (requested.Equals(path, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>Adds the limit to the pipeline when <see cref="ServerArgs.MaxWaitingRequests"/> is set; returns it (null when unlimited).</summary>
    public static RequestQueueLimit? Use(WebApplication app, ServerArgs args, int maxNumSeqs)
    {
        if (args.MaxWaitingRequests is not int maxWaiting) return null;
        var limit = new RequestQueueLimit(maxNumSeqs, maxWaiting);
        app.Use(limit.InvokeAsync);
        return limit;
    }

    private async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (!IsGeneration(context.Request))
        {
            await next(context);
            return;
        }
        if (!TryEnter())
        {
            await RefuseAsync(context.Response);
            return;
        }
        try
        {
            await next(context);
        }
        finally
        {
            // Runs after the endpoint returned: the response has ended and, for a vanished client, the engine request
            // was already aborted (AsyncLLM aborts when its enumeration is disposed), so the slot is really free.
            Exit();
        }
    }

    private Task RefuseAsync(HttpResponse response)
    {
        // A queue drains within seconds at these sizes; one second tells well-behaved clients (the OpenAI SDKs retry
        // 503 with backoff) not to come back at once.
        response.Headers.RetryAfter = "1";
        string message = string.Create(CultureInfo.InvariantCulture,
            $"The server is overloaded: {MaxWaitingRequests} requests are already waiting behind the {MaxNumSeqs} running (--max-waiting-requests {MaxWaitingRequests}). Please retry later.");
        return HttpJson.WriteAsync(response, new ErrorResponse(new ErrorInfo(message, "ServiceUnavailableError", null, 503)), 503);
    }
}
