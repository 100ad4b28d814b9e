using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VllmSharp.Core.Config;
using VllmSharp.Engine;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Kernels;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>API key, CORS and rate limiting on a server configured for them.</summary>
public sealed class MiddlewareTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vllmsharp-mw-" + Guid.NewGuid().ToString("N"));
    private AsyncLLM _engine = null!;
    private ApiServer _server = null!;
    private readonly HttpClient _http = new();
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        TestModelWriter.Write(TestModelPresets.Get("tiny-llama"), DType.F32, _dir, seed: 2, vocabSize: 151936);
        BuiltinTokenizer.WriteTo(_dir);
        _engine = new AsyncLLM(new EngineArgs { Model = _dir, MaxModelLen = 128, KvCacheMemory = "16MiB" });
        _server = ApiServer.Create(_engine, new ServerArgs
        {
            Host = "127.0.0.1", Port = 0, ServedModelNames = ["m"], ApiKey = "secret",
            AllowedOrigins = ["https://app.example"], RateLimitInterval = 60, RateLimitToken = 3,
        });
        await _server.StartAsync();
        _http.BaseAddress = new Uri(_server.Urls[0]);
    }

    private static HttpRequestMessage ModelsRequest(string? key)
        => new(HttpMethod.Get, "/v1/models") { Headers = { Authorization = key is null ? null : new("Bearer", key) } };

    [Fact]
    public async Task ApiKey_RequiredOnV1_NotOnHealth()
    {
        using var missing = await _http.SendAsync(ModelsRequest(null), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal(401, (int)JsonNode.Parse(await missing.Content.ReadAsStringAsync(Ct))!["error"]!["code"]!);
        using var wrong = await _http.SendAsync(ModelsRequest("nope"), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/health", Ct)).StatusCode);
    }

    [Fact]
    public async Task RateLimit_FourthRequestInTheWindow_Gets429WithRetryAfter()
    {
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (int i = 0; i < 4; i++)
        {
            last?.Dispose();
            last = await _http.SendAsync(ModelsRequest("secret"), Ct);
            statuses.Add(last.StatusCode);
        }
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.True(last!.Headers.RetryAfter is not null);
        Assert.Equal(429, (int)JsonNode.Parse(await last.Content.ReadAsStringAsync(Ct))!["error"]!["code"]!);
        last.Dispose();
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/health", Ct)).StatusCode); // health is never limited
    }

    [Fact]
    public async Task Cors_PreflightFromAllowedOrigin_Allowed_OtherOriginNot()
    {
        using var allowed = new HttpRequestMessage(HttpMethod.Options, "/v1/completions");
        allowed.Headers.Add("Origin", "https://app.example");
        allowed.Headers.Add("Access-Control-Request-Method", "POST");
        using var ok = await _http.SendAsync(allowed, Ct);
        Assert.Equal("https://app.example", ok.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var other = new HttpRequestMessage(HttpMethod.Options, "/v1/completions");
        other.Headers.Add("Origin", "https://evil.example");
        other.Headers.Add("Access-Control-Request-Method", "POST");
        using var refused = await _http.SendAsync(other, Ct);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync();
        await _server.DisposeAsync();
        _engine.Dispose();
        _http.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
