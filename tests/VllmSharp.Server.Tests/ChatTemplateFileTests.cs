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

/// <summary>
/// --chat-template given as a file, with a template that reads <c>documents</c> (as RAG templates such as Granite's
/// and Command R's do): the request's documents reach the template.
/// </summary>
public sealed class ChatTemplateFileTests : IAsyncLifetime
{
    private const string Template = """
        {%- if documents %}{{- '<|im_start|>system\nDocuments:\n' }}{%- for doc in documents %}{{- '- ' + doc.title + ': ' + doc.text + '\n' }}{%- endfor %}{{- '<|im_end|>\n' }}{%- endif %}
        {%- for message in messages %}{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}{%- endfor %}
        {%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vllmsharp-tmpl-" + Guid.NewGuid().ToString("N"));
    private AsyncLLM _engine = null!;
    private ApiServer _server = null!;
    private readonly HttpClient _http = new();
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        TestModelWriter.Write(TestModelPresets.Get("tiny-qwen2"), DType.F32, _dir, seed: 3, vocabSize: 151936);
        BuiltinTokenizer.WriteTo(_dir);
        string templateFile = Path.Combine(_dir, "rag.jinja");
        File.WriteAllText(templateFile, Template);
        _engine = new AsyncLLM(new EngineArgs { Model = _dir, MaxModelLen = 256, KvCacheMemory = "32MiB" });
        _server = ApiServer.Create(_engine, new ServerArgs { Host = "127.0.0.1", Port = 0, ServedModelNames = ["m"], ChatTemplate = templateFile });
        await _server.StartAsync();
        _http.BaseAddress = new Uri(_server.Urls[0]);
    }

    [Fact]
    public async Task Documents_PassedToTheTemplate_AndGeneratedFrom()
    {
        const string body = """
            {"messages":[{"role":"user","content":"What is paged attention?"}],
             "documents":[{"title":"vLLM","text":"Paged KV blocks."},{"title":"OS","text":"Virtual memory pages."}]
            """;
        JsonNode tokens = (await PostOkAsync("/tokenize", body + "}"))["tokens"]!;
        string rendered = (string)(await PostOkAsync("/detokenize", new JsonObject { ["tokens"] = tokens.DeepClone() }.ToJsonString()))["prompt"]!;
        Assert.Equal("<|im_start|>system\nDocuments:\n- vLLM: Paged KV blocks.\n- OS: Virtual memory pages.\n<|im_end|>\n"
            + "<|im_start|>user\nWhat is paged attention?<|im_end|>\n<|im_start|>assistant\n", rendered);

        JsonNode chat = await PostOkAsync("/v1/chat/completions", body + ""","max_tokens":2,"ignore_eos":true}""");
        Assert.Equal(tokens.AsArray().Count, (int)chat["usage"]!["prompt_tokens"]!);

        // Without documents the template leaves the block out.
        JsonNode plain = await PostOkAsync("/tokenize", """{"messages":[{"role":"user","content":"What is paged attention?"}]}""");
        Assert.True((int)plain["count"]! < tokens.AsArray().Count);
    }

    private Task<JsonNode> PostOkAsync(string path, string json) => _http.PostOkAsync(path, json);

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync();
        await _server.DisposeAsync();
        _engine.Dispose();
        _http.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
