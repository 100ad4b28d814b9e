using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>The official <c>openai</c> npm client (an independent SSE parser and response model) against the
/// real server, run by tests/node/openai-client.mjs.</summary>
public sealed class NodeOpenAIClientTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string NpmHint = "run npm ci --prefix tests/node";

    [Fact]
    public async Task OpenAINodeClient_ChatCompletionsAndModels_ShapesMatchAndStreamEqualsNonStream()
    {
        JsonNode result = await RunScriptAsync("openai-client.mjs", server.BaseUrl + "/v1", ServerFixture.ModelName);

        Assert.Equal(["tiny", "alias"], result["modelIds"]!.AsArray().Select(m => (string?)m));

        JsonNode chat = result["chat"]!;
        Assert.StartsWith("chatcmpl-", (string?)chat["id"]);
        Assert.Equal("chat.completion", (string?)chat["object"]);
        Assert.Equal("tiny", (string?)chat["model"]);
        Assert.True((long)chat["created"]! > 1_600_000_000); // Unix seconds, not milliseconds or zero
        Assert.Equal("assistant", (string?)chat["role"]);
        Assert.Equal("length", (string?)chat["finish"]);
        Assert.Equal(8, (int)chat["usage"]!["completion_tokens"]!); // ignore_eos: exactly max_tokens
        Assert.Equal((int)chat["usage"]!["prompt_tokens"]! + 8, (int)chat["usage"]!["total_tokens"]!);

        // Greedy decoding is deterministic, so what the client reassembles from SSE deltas must be the
        // non-streamed text exactly.
        JsonNode chatStream = result["chatStream"]!;
        Assert.Equal((string?)chat["content"], (string?)chatStream["text"]);
        Assert.Equal(["assistant"], chatStream["roles"]!.AsArray().Select(r => (string?)r)); // role only in the first delta
        Assert.Equal("length", (string?)chatStream["finish"]);
        Assert.Equal(8, (int)chatStream["usage"]!["completion_tokens"]!);
        Assert.Equal((int)chat["usage"]!["prompt_tokens"]!, (int)chatStream["usage"]!["prompt_tokens"]!);

        string? sampled = (string?)result["sampled"]!["text"];
        Assert.True(sampled!.Distinct().Count() >= 4, sampled); // varied text, so the equality below means something
        Assert.Equal(sampled, (string?)result["sampled"]!["streamText"]); // same seed, same tokens

        JsonNode completion = result["completion"]!;
        Assert.StartsWith("cmpl-", (string?)completion["id"]);
        Assert.Equal("text_completion", (string?)completion["object"]);
        Assert.Equal("length", (string?)completion["finish"]);
        Assert.Equal(8, (int)completion["usage"]!["completion_tokens"]!);
        Assert.False(string.IsNullOrEmpty((string?)completion["text"]));
        Assert.Equal((string?)completion["text"], (string?)result["completionStream"]!["text"]);
        Assert.Equal("length", (string?)result["completionStream"]!["finish"]);

        JsonNode notFound = result["notFound"]!;
        Assert.Equal(404, (int)notFound["status"]!);
        Assert.True((bool)notFound["isApiError"]!);
        Assert.Equal("model", (string?)notFound["param"]);

        await server.AssertEngineIdleAsync();
    }

    [Fact]
    public async Task OpenAINodeClient_ToolCalls_NamedAndAuto_StreamHelperAgreesWithNonStreamed()
    {
        JsonNode result = await RunScriptAsync("openai-tools.mjs", server.BaseUrl + "/v1", ServerFixture.ModelName);

        JsonNode named = result["named"]!;
        JsonNode call = Assert.Single(named["calls"]!.AsArray())!;
        Assert.Equal("get_weather", (string?)call["name"]);
        Assert.Equal("function", (string?)call["type"]);
        Assert.StartsWith("chatcmpl-tool-", (string?)call["id"]);
        using (JsonDocument args = JsonDocument.Parse((string)call["arguments"]!))
        {
            Assert.Contains(args.RootElement.GetProperty("city").GetString(), new[] { "Paris", "Oslo" });
            Assert.InRange(args.RootElement.GetProperty("days").GetInt32(), 1, 7);
        }
        Assert.Equal("stop", (string?)named["finish"]);
        // Same seed, same tokens: the npm stream helper's reassembled message equals the non-streamed one (ids aside).
        JsonNode streamCall = Assert.Single(result["namedStream"]!["calls"]!.AsArray())!;
        Assert.Equal((string?)call["arguments"], (string?)streamCall["arguments"]);
        Assert.Equal("get_weather", (string?)streamCall["name"]);

        foreach (string key in new[] { "auto", "autoStream" })
        {
            JsonNode auto = result[key]!;
            Assert.Equal("Checking.\n", (string?)auto["content"]);
            Assert.Equal("tool_calls", (string?)auto["finish"]);
            JsonNode autoCall = Assert.Single(auto["calls"]!.AsArray())!;
            Assert.Equal("get_weather", (string?)autoCall["name"]);
            Assert.Equal("{\"city\": \"Oslo\", \"days\": 2}", (string?)autoCall["arguments"]);
        }

        Assert.Equal(400, (int)result["bad"]!["status"]!);
        Assert.Equal("tool_choice", (string?)result["bad"]!["param"]);
        await server.AssertEngineIdleAsync();
    }

    /// <summary>Runs the script asynchronously (the server lives in this process, so blocking the thread
    /// pool while node talks to it would be asking for trouble) and parses its one JSON line.</summary>
    private static async Task<JsonNode> RunScriptAsync(string script, string baseUrl, string model)
    {
        string nodeDir = Path.Combine(FindRepoRoot(), "tests", "node");
        if (!File.Exists(Path.Combine(nodeDir, "node_modules", "openai", "package.json")))
            throw new InvalidOperationException($"The openai npm package is not installed in {nodeDir}/node_modules: {NpmHint}.");

        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = nodeDir,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(baseUrl);
        start.ArgumentList.Add(model);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {script} did not finish in 60 s.\n{await stderr}");
        }

        if (process.ExitCode != 0)
            throw new InvalidOperationException($"node {script} failed ({process.ExitCode}); {NpmHint}?\n{await stderr}");
        return JsonNode.Parse(await stdout) ?? throw new InvalidOperationException($"node {script} wrote no JSON.");
    }

    private static string FindRepoRoot()
    {
        // Builds placed outside the tree (--artifacts-path /tmp/...) still know where this source file was compiled from.
        foreach (string start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(SourceFilePath()) ?? "", Environment.CurrentDirectory })
        {
            for (DirectoryInfo? dir = start.Length == 0 ? null : new(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "VllmSharp.sln")))
                    return dir.FullName;
            }
        }

        throw new InvalidOperationException("VllmSharp.sln not found above the test binaries, this source file or the working directory.");
    }

    private static string SourceFilePath([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;
}
