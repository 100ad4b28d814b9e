using System.Net.Http.Json;
using System.Text.Json;
using VllmSharp.Core.Config;
using VllmSharp.Engine;
using VllmSharp.Server;
using Xunit;

namespace VllmSharp.Cli.Tests;

/// <summary>
/// What <c>vllmsharp serve model.gguf</c> runs — the engine on a GGUF file (tokenizer and chat template from its
/// metadata) behind the real API server on a loopback port — answering completions and chat over HTTP.
/// </summary>
public sealed class GgufServeTests
{
    [Fact]
    public async Task Serve_GgufModel_AnswersCompletionsAndChatWithItsOwnTokenizer()
    {
        using var dir = new TempDir();
        string model = dir.File("tiny.gguf");
        var (created, _, createError) = CliRunner.Run("create-model", "--preset", "tiny-qwen2", "--format", "gguf", "--dtype", "f16", "-o", model);
        Assert.True(created == 0, createError);

        using var engine = new AsyncLLM(new EngineArgs { Model = model, MaxModelLen = 256, KvCacheMemory = "16MiB", MaxNumSeqs = 4 });
        await using ApiServer server = ApiServer.Create(engine, new ServerArgs { Host = "127.0.0.1", Port = 0, ServedModelNames = ["tiny"] });
        await server.StartAsync(TestContext.Current.CancellationToken);
        using var http = new HttpClient { BaseAddress = new Uri(server.Urls[0].Replace("[::]", "127.0.0.1")) };
        CancellationToken ct = TestContext.Current.CancellationToken;

        using HttpResponseMessage completion = await http.PostAsJsonAsync("/v1/completions",
            new { model = "tiny", prompt = "Hello", max_tokens = 4, ignore_eos = true }, ct);
        Assert.True(completion.IsSuccessStatusCode, await completion.Content.ReadAsStringAsync(ct));
        using JsonDocument body = JsonDocument.Parse(await completion.Content.ReadAsStringAsync(ct));
        // The byte-level test vocabulary: "Hello" is five tokens, one per byte.
        Assert.Equal(5, body.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(4, body.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        using HttpResponseMessage chat = await http.PostAsJsonAsync("/v1/chat/completions",
            new { model = "tiny", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 2 }, ct);
        Assert.True(chat.IsSuccessStatusCode, await chat.Content.ReadAsStringAsync(ct));
        using JsonDocument chatBody = JsonDocument.Parse(await chat.Content.ReadAsStringAsync(ct));
        // ChatML from tokenizer.chat_template: <|im_start|> user \n H i <|im_end|> \n <|im_start|> assistant \n = 1+4+1+2+1+1+1+9+1.
        Assert.Equal(21, chatBody.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        await server.StopAsync(ct);
    }
}
