using System.Text.Json;
using System.Text.Json.Serialization;

namespace VllmSharp.Engine.Tests.TestSupport;

/// <summary>
/// Runs the independent Node reference (tests/node/tokenize.mjs: @lenml/tokenizers, a port of
/// transformers.js, or gpt-3-encoder) once for a whole batch of texts.
/// </summary>
public static class NodeReference
{
    /// <summary>Tokenizes <paramref name="texts"/> with the tokenizer.json + tokenizer_config.json in <paramref name="tokenizerDir"/>.</summary>
    public static IReadOnlyList<NodeResult> Tokenize(string tokenizerDir, IReadOnlyList<string> texts, bool addSpecialTokens) =>
        Run(new Request { TokenizerDir = tokenizerDir, Texts = texts, AddSpecialTokens = addSpecialTokens });

    /// <summary>Tokenizes with gpt-3-encoder (GPT-2 BPE, special-token text not recognised).</summary>
    public static IReadOnlyList<NodeResult> TokenizeGpt2(IReadOnlyList<string> texts) =>
        Run(new Request { Kind = "gpt3-encoder", Texts = texts, AddSpecialTokens = false });

    /// <summary>Node's ICU Unicode normalization: Decoded = NFC, DecodedWithSpecial = NFD.</summary>
    public static IReadOnlyList<NodeResult> Normalize(IReadOnlyList<string> texts) =>
        Run(new Request { Kind = "nfc", Texts = texts, AddSpecialTokens = false });

    private static IReadOnlyList<NodeResult> Run(Request request)
    {
        if (!Directory.Exists(Path.Combine(Fixtures.NodeModules, "gpt-3-encoder")))
            throw new InvalidOperationException($"gpt-3-encoder is not installed in {Fixtures.NodeModules}: {Fixtures.NpmHint}.");
        string stdout = NodeScript.Run("tokenize.mjs", Path.Combine("@lenml", "tokenizers"), JsonSerializer.Serialize(request));
        Response response = JsonSerializer.Deserialize<Response>(stdout)
            ?? throw new InvalidOperationException("node tokenize.mjs wrote no JSON.");
        if (response.Results.Count != request.Texts.Count)
            throw new InvalidOperationException("node tokenize.mjs returned a different number of results.");
        return response.Results;
    }

    private sealed class Request
    {
        [JsonPropertyName("kind")]
        public string Kind { get; init; } = "hf";

        [JsonPropertyName("tokenizerDir")]
        public string? TokenizerDir { get; init; }

        [JsonPropertyName("texts")]
        public IReadOnlyList<string> Texts { get; init; } = [];

        [JsonPropertyName("addSpecialTokens")]
        public bool AddSpecialTokens { get; init; }
    }

    private sealed class Response
    {
        [JsonPropertyName("results")]
        public List<NodeResult> Results { get; init; } = [];
    }
}
