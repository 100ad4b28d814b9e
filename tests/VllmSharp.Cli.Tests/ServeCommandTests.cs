using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit;

namespace VllmSharp.Cli.Tests;

/// <summary>
/// <c>vllmsharp serve</c> as a user runs it: a child process, stopped with a real SIGTERM / SIGINT while a stream is
/// in flight. The stream must finish, the process must exit with 0, and start-up must print the address and routes.
/// </summary>
public sealed partial class ServeCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private const int SigInt = 2, SigTerm = 15;

    [Fact]
    public void Serve_InvalidLogLevel_ClearCliError()
    {
        var (code, _, error) = CliRunner.Run("serve", "--uvicorn-log-level", "loud");
        Assert.NotEqual(0, code);
        Assert.Contains("loud", error);
        Assert.Contains("--uvicorn-log-level", error);
        // --log-level is the same option.
        Assert.NotEqual(0, CliRunner.Run("serve", "--log-level", "loud").ExitCode);
    }

    [Fact]
    public void Serve_GenerationConfigFolderWithoutTheFile_IsNotAnError_ButAMissingFolderIs()
    {
        // Failing fast: the bad folder is reported before any model is loaded (no model given means the default
        // model, which would take long to create; the check comes first).
        var (code, _, error) = CliRunner.Run("serve", "--generation-config", "/no/such/folder", "--port", "0");
        Assert.NotEqual(0, code);
        Assert.Contains("--generation-config", error);
    }

    [Theory]
    [InlineData("--enable-auto-tool-choice", "`--tool-call-parser` must be set")]
    [InlineData("--tool-call-parser=pythonic", "invalid tool call parser: pythonic")]
    public void Serve_UnusableToolCallFlags_FailBeforeTheModelLoads(string flag, string message)
    {
        var (code, _, error) = CliRunner.Run("serve", flag, "--port", "0");
        Assert.NotEqual(0, code);
        Assert.Contains(message, error);
    }

    [Theory]
    [InlineData(SigTerm)]
    [InlineData(SigInt)]
    public async Task Serve_SignalDuringStream_StreamFinishes_ExitCodeZero(int signal)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // POSIX signals only
        using var dir = new TempDir();
        string model = dir.File("model");
        Assert.Equal(0, CliRunner.Run("create-model", "--preset", "tiny-llama", "--dtype", "float32", "--vocab-size", "151936", "-o", model).ExitCode);
        string genConfig = Path.Combine(model, "generation_config.json");
        JsonObject gen = JsonNode.Parse(File.ReadAllText(genConfig))!.AsObject();
        gen["top_p"] = 0.9;
        File.WriteAllText(genConfig, gen.ToJsonString());

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
                 {
                     Path.Combine(AppContext.BaseDirectory, "vllmsharp.dll"), "serve", model, "--host", "127.0.0.1", "--port", "0",
                     "--served-model-name", "first", "second", "--kv-cache-memory", "32MiB", "--max-model-len", "1024",
                     "--disable-log-stats", "--log-level", "info",
                 })
            start.ArgumentList.Add(arg);
        // The SIGTERM run also checks --disable-log-requests; the SIGINT run checks the request log line is there.
        bool disableLogRequests = signal == SigTerm;
        if (disableLogRequests) start.ArgumentList.Add("--disable-log-requests");
        else start.ArgumentList.Add("--disable-uvicorn-access-log");
        start.Environment["VLLM_API_KEY"] = "env-key";
        using var process = Process.Start(start)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var serving = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        string? servingUrl = null; // the "Serving" line comes first, then "Routes:" once start-up is complete
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data.StartsWith("Serving", StringComparison.Ordinal)) servingUrl = UrlPattern().Match(e.Data).Value;
            if (e.Data.StartsWith("Routes:", StringComparison.Ordinal)) serving.TrySetResult(servingUrl ?? "");
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            Task ready = await Task.WhenAny(serving.Task, process.WaitForExitAsync(Ct), Task.Delay(TimeSpan.FromSeconds(60), Ct));
            Assert.True(ready == serving.Task, $"serve did not start.\nstdout:\n{stdout}\nstderr:\n{stderr}");
            string url = await serving.Task;
            string printed;
            lock (stdout) printed = stdout.ToString();
            Assert.Contains("Serving first, second on http://127.0.0.1:", printed);
            Assert.Contains("Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models", printed);
            Assert.Contains("Default sampling parameters have been overridden", printed);
            Assert.Contains("'top_p': 0.9", printed);

            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(120) };
            // The key comes from VLLM_API_KEY: /v1 needs it, /health does not.
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v1/models", Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health", Ct)).StatusCode);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "env-key");
            JsonNode models = JsonNode.Parse(await http.GetStringAsync("/v1/models", Ct))!;
            Assert.Equal(["first", "second"], models["data"]!.AsArray().Select(m => (string?)m!["id"]));

            // A long stream; the signal goes out once its first token has arrived.
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
            {
                Content = new StringContent("""{"model":"second","prompt":"Once upon a time","max_tokens":150,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}""",
                    Encoding.UTF8, "application/json"),
            };
            using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
            var events = new List<string>();
            bool signalled = false;
            while (await reader.ReadLineAsync(Ct) is string line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                events.Add(line["data: ".Length..]);
                if (!signalled)
                {
                    Assert.Equal(0, Kill(process.Id, signal));
                    signalled = true;
                }
            }
            Assert.True(signalled);
            Assert.Equal("[DONE]", events[^1]);
            JsonNode usage = JsonNode.Parse(events[^2])!["usage"]!;
            Assert.Equal(150, (int)usage["completion_tokens"]!); // drained: the whole completion, not a cut-off one
            Assert.Equal("length", events.Take(events.Count - 2).Select(e => (string?)JsonNode.Parse(e)!["choices"]![0]!["finish_reason"]).Last(r => r is not null));

            await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
            lock (stdout) printed = stdout.ToString();
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}\nstdout:\n{printed}\nstderr:\n{stderr}");
            Assert.Contains("Shutting down", printed);
            // --log-level info: uvicorn-style access lines and request lines, each unless disabled.
            Assert.Equal(disableLogRequests, printed.Contains("\"GET /v1/models HTTP/1.1\" 200", StringComparison.Ordinal));
            Assert.Equal(!disableLogRequests, printed.Contains("Received request cmpl-", StringComparison.Ordinal));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+")]
    private static partial Regex UrlPattern();
}
