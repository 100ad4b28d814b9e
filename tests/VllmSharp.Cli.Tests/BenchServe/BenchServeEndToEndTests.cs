using System.Text.Json.Nodes;
using Xunit;

namespace VllmSharp.Cli.Tests.BenchServe;

public class BenchServeEndToEndTests(BenchServeServer server) : IClassFixture<BenchServeServer>
{
    [Theory]
    [InlineData("/v1/completions", "openai")]
    [InlineData("/v1/chat/completions", "openai-chat")]
    public async Task BenchServe_EightPromptsConcurrencyFour_AllSucceedWithExactTokenCounts(string endpoint, string backend)
    {
        using var dir = new TempDir();
        // CliApp.Run blocks on the async command; keep it off the test's synchronization context.
        (int code, string output, string error) = await Task.Run(() => CliRunner.Run(
            "bench", "serve", "--base-url", server.BaseUrl, "--endpoint", endpoint, "--num-prompts", "8", "--max-concurrency", "4",
            "--random-input-len", "16", "--random-output-len", "8", "--ignore-eos", "--disable-tqdm", "--percentile-metrics", "ttft,tpot,itl,e2el",
            "--metric-percentiles", "50,99", "--goodput", "e2el:600000", "--save-result", "--result-dir", dir.Path, "--result-filename", "r.json"),
            TestContext.Current.CancellationToken);

        Assert.True(code == 0, output + error);
        Assert.Contains("============ Serving Benchmark Result ============", output);
        Assert.Contains("Successful requests:                     8         ", output);
        Assert.Contains("Failed requests:                         0         ", output);
        Assert.Contains("Total generated tokens:                  64        ", output);
        // The tokenizer came from the model folder the server reports as root: every prompt is exactly 16 tokens.
        Assert.Contains("Total input tokens:                      128       ", output);
        Assert.Contains("P50 E2EL (ms):", output);
        Assert.Contains("Request goodput (req/s):", output);

        var json = JsonNode.Parse(File.ReadAllText(dir.File("r.json")))!.AsObject();
        foreach (string key in (string[])["date", "backend", "model_id", "num_prompts", "request_rate", "burstiness", "max_concurrency", "duration",
                     "completed", "failed", "total_input_tokens", "total_output_tokens", "request_throughput", "request_goodput", "output_throughput",
                     "total_token_throughput", "mean_ttft_ms", "median_ttft_ms", "std_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "p50_tpot_ms",
                     "mean_itl_ms", "p99_itl_ms", "mean_e2el_ms", "p99_e2el_ms", "max_output_tokens_per_s", "max_concurrent_requests"])
            Assert.True(json.ContainsKey(key), $"missing {key}");
        Assert.Equal(8, json["completed"]!.GetValue<int>());
        Assert.Equal(64, json["total_output_tokens"]!.GetValue<long>());
        Assert.Equal(backend, json["backend"]!.GetValue<string>());
        Assert.Equal("tiny", json["model_id"]!.GetValue<string>());
        Assert.Equal("inf", json["request_rate"]!.GetValue<string>());
        Assert.Equal(4, json["max_concurrency"]!.GetValue<int>());
        // vLLM counts requests active within the same one-second bucket, not at the same instant.
        Assert.InRange(json["max_concurrent_requests"]!.GetValue<int>(), 1, 8);
        Assert.True(json["mean_tpot_ms"]!.GetValue<double>() > 0);
    }

    [Fact]
    public async Task BenchServe_ServerTokenizerAndPoissonRate_AllSucceed()
    {
        // --model given and not a local path: prompts are built with the server's /tokenize and /detokenize.
        (int code, string output, string error) = await Task.Run(() => CliRunner.Run(
            "bench", "serve", "--base-url", server.BaseUrl, "--model", "tiny", "--num-prompts", "4", "--request-rate", "50", "--burstiness", "0.5",
            "--random-input-len", "12", "--random-output-len", "4", "--disable-tqdm"), TestContext.Current.CancellationToken);
        Assert.True(code == 0, output + error);
        Assert.Contains("Tokenizer: server /tokenize", error);
        Assert.Contains("Burstiness factor: 0.5 (Gamma distribution)", output);
        Assert.Contains("Request rate configured (RPS):           50.00     ", output);
        Assert.Contains("Total generated tokens:                  16        ", output);
    }

    [Fact]
    public async Task BenchServe_UnreachableServer_FailsWithOneLine()
    {
        (int code, _, string error) = await Task.Run(() => CliRunner.Run(
            "bench", "serve", "--base-url", "http://127.0.0.1:9", "--model", "m", "--num-prompts", "1", "--random-input-len", "4",
            "--random-output-len", "2", "--ready-check-timeout-sec", "0", "--disable-tqdm"), TestContext.Current.CancellationToken);
        Assert.Equal(1, code);
        Assert.Contains("error: Initial test run failed", error);
    }
}
