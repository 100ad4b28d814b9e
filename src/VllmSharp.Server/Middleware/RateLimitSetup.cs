using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Middleware;

/// <summary>
/// --rate-limit-interval / --rate-limit-token with ASP.NET Core's rate limiter: a fixed window of N requests per
/// interval for each client, keyed by its API key (Bearer token) or else its remote address. Health routes are
/// never limited. A refused request gets 429, an OpenAI error body and Retry-After.
/// </summary>
public static class RateLimitSetup
{
    public static bool IsEnabled(ServerArgs args) => args.RateLimitInterval is > 0 && args.RateLimitToken is > 0;

    public static void AddServices(IServiceCollection services, ServerArgs args)
    {
        if (!IsEnabled(args)) return;
        var window = TimeSpan.FromSeconds(args.RateLimitInterval!.Value);
        services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (!context.Request.Path.StartsWithSegments("/v1")) return RateLimitPartition.GetNoLimiter("unlimited");
                string client = context.Request.Headers.Authorization.ToString() is { Length: > 0 } key
                    ? "key:" + key
                    : "ip:" + context.Connection.RemoteIpAddress;
                return RateLimitPartition.GetFixedWindowLimiter(client, _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = args.RateLimitToken!.Value,
                    Window = window,
                    QueueLimit = 0,
                });
            });
            options.OnRejected = async (rejected, cancellationToken) =>
            {
                HttpResponse response = rejected.HttpContext.Response;
                double retry = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan after) ? after.TotalSeconds : window.TotalSeconds;
                response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry)).ToString(CultureInfo.InvariantCulture);
                await HttpJson.WriteAsync(response, new ErrorResponse(new ErrorInfo(
                    $"Rate limit exceeded: at most {args.RateLimitToken} requests every {window.TotalSeconds:g} s.", "RateLimitError", null, 429)), 429);
            };
        });
    }

    public static void Use(WebApplication app, ServerArgs args)
    {
        if (IsEnabled(args)) app.UseRateLimiter();
    }
}
