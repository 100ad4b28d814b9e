using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace VllmSharp.Server.Middleware;

/// <summary>vLLM's CORS flags mapped onto ASP.NET Core's CORS middleware ("*" means any).</summary>
public static class CorsSetup
{
    public static void AddServices(IServiceCollection services, ServerArgs args)
        => services.AddCors(options => options.AddDefaultPolicy(policy => Configure(policy, args)));

    public static void Use(WebApplication app) => app.UseCors();

    private static void Configure(CorsPolicyBuilder policy, ServerArgs args)
    {
        if (args.AllowedOrigins.Contains("*"))
        {
            // Credentials cannot go with a literal "*": echo the caller's origin instead, as Starlette does.
            if (args.AllowCredentials) policy.SetIsOriginAllowed(_ => true);
            else policy.AllowAnyOrigin();
        }
        else
        {
            policy.WithOrigins([.. args.AllowedOrigins]);
        }
        if (args.AllowedMethods.Contains("*")) policy.AllowAnyMethod(); else policy.WithMethods([.. args.AllowedMethods]);
        if (args.AllowedHeaders.Contains("*")) policy.AllowAnyHeader(); else policy.WithHeaders([.. args.AllowedHeaders]);
        if (args.AllowCredentials) policy.AllowCredentials();
    }
}
