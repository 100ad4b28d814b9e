using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VllmSharp.Core.Config;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Kernels;
using VllmSharp.Runtime.TestModels;
using VllmSharp.Server.Endpoints.Chat;
using VllmSharp.Server.Protocol;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// --generation-config: the model's generation_config.json supplies the sampling defaults (auto), or is ignored
/// (vllm). Two servers share one model folder whose file recommends greedy decoding and at most 5 new tokens.
/// </summary>
public sealed class GenerationConfigTests : IAsyncLifetime
{
    private const string GenerationConfigJson = """
        {"do_sample": false, "temperature": 0.0, "top_p": 0.8, "top_k": 20, "min_p": 0.05, "repetition_penalty": 1.05,
         "max_new_tokens": 5, "transformers_version": "4.51.0"}
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vllmsharp-gencfg-" + Guid.NewGuid().ToString("N"));
    private AsyncLLM _engine = null!;
    private ApiServer _auto = null!, _vllm = null!;
    private readonly HttpClient _autoHttp = new(), _vllmHttp = new();
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        TestModelWriter.Write(TestModelPresets.Get("tiny-qwen2"), DType.F32, _dir, seed: 11, vocabSize: 151936);
        BuiltinTokenizer.WriteTo(_dir);
        File.WriteAllText(Path.Combine(_dir, "generation_config.json"), GenerationConfigJson);
        _engine = new AsyncLLM(new EngineArgs { Model = _dir, MaxModelLen = 128, KvCacheMemory = "32MiB" });
        _auto = ApiServer.Create(_engine, new ServerArgs { Host = "127.0.0.1", Port = 0, ServedModelNames = ["m"] });
        _vllm = ApiServer.Create(_engine, new ServerArgs { Host = "127.0.0.1", Port = 0, ServedModelNames = ["m"], GenerationConfig = "vllm" });
        await _auto.StartAsync();
        await _vllm.StartAsync();
        _autoHttp.BaseAddress = new Uri(_auto.Urls[0]);
        _vllmHttp.BaseAddress = new Uri(_vllm.Urls[0]);
    }

    [Fact]
    public void Parse_RecommendedValues_TransformersDefaultsDropped()
    {
        var d = GenerationConfigDefaults.Parse(GenerationConfigJson);
        Assert.Equal(new GenerationConfigDefaults { Temperature = 0, TopP = 0.8, TopK = 20, MinP = 0.05, RepetitionPenalty = 1.05, MaxTokens = 5 }, d);
        // transformers' own defaults are not recommendations (vLLM reads the file through to_diff_dict).
        Assert.True(GenerationConfigDefaults.Parse("""{"temperature": 1.0, "top_p": 1.0, "top_k": 50, "repetition_penalty": 1.0, "bos_token_id": 1}""").IsEmpty);
        Assert.Equal("{'repetition_penalty': 1.05, 'temperature': 0, 'top_k': 20, 'top_p': 0.8, 'min_p': 0.05, 'max_tokens': 5}", d.ToString());
    }

    [Fact]
    public void Load_ModesAutoVllmFolder()
    {
        Assert.Equal(5, GenerationConfigDefaults.Load("auto", _dir).MaxTokens);
        Assert.Equal(5, GenerationConfigDefaults.Load(_dir, modelDir: null).MaxTokens);
        Assert.True(GenerationConfigDefaults.Load("vllm", _dir).IsEmpty);
        Assert.True(GenerationConfigDefaults.Load("auto", Path.GetTempPath()).IsEmpty); // no file: vLLM's defaults
        Assert.Throws<ArgumentException>(() => GenerationConfigDefaults.Load(Path.Combine(_dir, "missing"), _dir));
    }

    [Fact]
    public void ToSamplingParams_UnsetFieldsTakeDefaults_SetFieldsWin_MaxTokensCapped()
    {
        var defaults = GenerationConfigDefaults.Parse(GenerationConfigJson);
        SamplingParams unset = new ChatCompletionRequest().ToSamplingParams(RequestOutputKind.FinalOnly, defaults);
        Assert.Equal((0.0, 0.8, 20, 0.05, 1.05, (int?)5), (unset.Temperature, unset.TopP, unset.TopK, unset.MinP, unset.RepetitionPenalty, unset.MaxTokens));

        SamplingParams set = new ChatCompletionRequest { Temperature = 0.5, TopP = 0.9, TopK = 0, MinP = 0, RepetitionPenalty = 1, MaxTokens = 3 }
            .ToSamplingParams(RequestOutputKind.FinalOnly, defaults);
        Assert.Equal((0.5, 0.9, -1, 0.0, 1.0, (int?)3), (set.Temperature, set.TopP, set.TopK, set.MinP, set.RepetitionPenalty, set.MaxTokens));

        // As vLLM's get_max_tokens: the recommended max_new_tokens also caps a larger request.
        Assert.Equal(5, new ChatCompletionRequest { MaxTokens = 50 }.ToSamplingParams(RequestOutputKind.FinalOnly, defaults).MaxTokens);
        // Without defaults: vLLM's own (temperature 1, no top-k, up to the model length for chat).
        SamplingParams none = new ChatCompletionRequest().ToSamplingParams(RequestOutputKind.FinalOnly);
        Assert.Equal((1.0, 1.0, -1, (int?)null), (none.Temperature, none.TopP, none.TopK, none.MaxTokens));
    }

    [Fact]
    public async Task Auto_RequestWithoutSamplingFields_UsesTheModelsRecommendations()
    {
        Assert.Equal(5, _auto.State.Defaults.MaxTokens);
        Assert.True(_vllm.State.Defaults.IsEmpty);

        // max_tokens 8 is capped to the recommended 5 under auto, and honoured under vllm.
        JsonNode capped = await PostAsync(_autoHttp, "/v1/completions", """{"prompt":"Once upon a time","max_tokens":8,"ignore_eos":true}""");
        Assert.Equal(5, (int)capped["usage"]!["completion_tokens"]!);
        JsonNode honoured = await PostAsync(_vllmHttp, "/v1/completions", """{"prompt":"Once upon a time","max_tokens":8,"ignore_eos":true}""");
        Assert.Equal(8, (int)honoured["usage"]!["completion_tokens"]!);

        // A chat request with no max_tokens stops at the recommended 5 instead of running to the context length.
        JsonNode chat = await PostAsync(_autoHttp, "/v1/chat/completions", """{"messages":[{"role":"user","content":"Tell me a story"}],"ignore_eos":true}""");
        Assert.Equal(5, (int)chat["usage"]!["completion_tokens"]!);
        Assert.Equal("length", (string?)chat["choices"]![0]!["finish_reason"]);

        // The recommended greedy decoding: no sampling fields under auto gives exactly the text that the same
        // values given explicitly give under vllm (at temperature 1, unseeded, 5 tokens would almost never match).
        string implicitText = Text(await PostAsync(_autoHttp, "/v1/completions", """{"prompt":"The weather today","ignore_eos":true}"""));
        string explicitText = Text(await PostAsync(_vllmHttp, "/v1/completions",
            """{"prompt":"The weather today","max_tokens":5,"temperature":0,"top_p":0.8,"top_k":20,"min_p":0.05,"repetition_penalty":1.05,"ignore_eos":true}"""));
        Assert.Equal(explicitText, implicitText);
    }

    private static string Text(JsonNode response) => (string)response["choices"]![0]!["text"]!;

    private static Task<JsonNode> PostAsync(HttpClient http, string path, string json) => http.PostOkAsync(path, json);

    public async ValueTask DisposeAsync()
    {
        await _auto.StopAsync();
        await _vllm.StopAsync();
        await _auto.DisposeAsync();
        await _vllm.DisposeAsync();
        _engine.Dispose();
        _autoHttp.Dispose();
        _vllmHttp.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
