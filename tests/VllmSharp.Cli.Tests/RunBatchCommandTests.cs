using System.Text.Json.Nodes;
using Xunit;

namespace VllmSharp.Cli.Tests;

/// <summary>`vllmsharp run-batch` on an OpenAI batch file with good and bad lines.</summary>
public sealed class RunBatchCommandTests
{
    [Fact]
    public void RunBatch_MixedLines_OneOutputLinePerInputInOrderAndBadLinesGetErrors()
    {
        using var dir = new TempDir();
        string model = dir.File("model");
        Assert.Equal(0, CliRunner.Run("create-model", "--preset", "tiny-llama", "--dtype", "float32", "--vocab-size", "151936", "-o", model).ExitCode);
        string input = dir.File("in.jsonl"), output = dir.File("out.jsonl");
        File.WriteAllLines(input,
        [
            """{"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": "Hello", "max_tokens": 5, "temperature": 0, "ignore_eos": true}}""",
            """{"custom_id": "b", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": ["One", "Two"], "n": 2, "max_tokens": 3, "seed": 1, "ignore_eos": true}}""",
            """not json at all""",
            """{"custom_id": "d", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": "x", "temperature": -1}}""",
            """{"custom_id": "e", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}}""",
            """{"custom_id": "f", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": [1, 2, 3], "max_tokens": 2, "ignore_eos": true}}""",
        ]);

        var (code, stdout, error) = CliRunner.Run("run-batch", "-i", input, "-o", output, "--model", model, "--kv-cache-memory", "64MiB", "--max-model-len", "256");
        Assert.True(code == 0, error);
        Assert.Contains("4 succeeded, 2 failed", stdout);

        JsonObject[] lines = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.Equal(6, lines.Length);
        Assert.Equal(["a", "b", null, "d", "e", "f"], lines.Select(l => (string?)l["custom_id"]));

        JsonObject a = lines[0]["response"]!["body"]!.AsObject();
        Assert.Equal(200, (int)lines[0]["response"]!["status_code"]!);
        Assert.Null(lines[0]["error"]);
        Assert.Equal("text_completion", (string?)a["object"]);
        Assert.Equal("length", (string?)a["choices"]![0]!["finish_reason"]);
        Assert.Equal(5, (int)a["usage"]!["completion_tokens"]!);

        JsonArray bChoices = lines[1]["response"]!["body"]!["choices"]!.AsArray();
        Assert.Equal([0, 1, 2, 3], bChoices.Select(c => (int)c!["index"]!));

        JsonObject chat = lines[4]["response"]!["body"]!.AsObject();
        Assert.Equal("chat.completion", (string?)chat["object"]);
        Assert.Equal("assistant", (string?)chat["choices"]![0]!["message"]!["role"]);

        foreach (int bad in new[] { 2, 3 })
        {
            Assert.Equal(400, (int)lines[bad]["response"]!["status_code"]!);
            Assert.False(string.IsNullOrEmpty((string?)lines[bad]["error"]));
        }
        Assert.Contains("temperature", (string?)lines[3]["error"]);
        Assert.Equal(3, (int)lines[5]["response"]!["body"]!["usage"]!["prompt_tokens"]!);
    }
}
