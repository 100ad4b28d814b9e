using System.Text.Json;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// A tokenizer read from a Hugging Face model folder: <c>tokenizer.json</c> (byte-level BPE as in
/// Qwen2/3, Llama 3, GPT-2, or SentencePiece-style BPE as in Llama 2, Mistral, Gemma), or a GPT-2
/// style <c>vocab.json</c> + <c>merges.txt</c>; with <c>tokenizer_config.json</c>,
/// <c>chat_template.jinja</c> and <c>generation_config.json</c> when present.
/// Encoding: added tokens are cut out of the raw text, each remaining piece is normalized,
/// pre-tokenized and BPE-encoded (cached per pre-token); the post-processor's special tokens are
/// added when asked. Thread-safe after loading.
/// </summary>
public sealed class HfTokenizer : ITokenizer
{
    private static readonly string[] s_llamaStyleClasses =
        ["LlamaTokenizer", "LlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast"];

    private readonly BpeModel _model;
    private readonly TextNormalizer _normalizer;
    private readonly PreTokenizer _preTokenizer;
    private readonly AddedTokenSplitter _splitter;
    private readonly Dictionary<string, int> _addedByContent = new(StringComparer.Ordinal);
    private readonly string?[] _idToToken;
    private readonly byte[][] _tokenBytes;
    private readonly bool[] _special;
    private readonly int[] _prefixIds;
    private readonly int[] _suffixIds;

    private HfTokenizer(
        BpeModel model,
        TextNormalizer normalizer,
        PreTokenizer preTokenizer,
        TokenDecoder decoder,
        List<AddedToken> addedTokens,
        (List<int> Prefix, List<int> Suffix)? postProcessor,
        TokenizerConfig config)
    {
        _model = model;
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        Config = config;

        // Config-only added tokens (added_tokens_decoder) fill in what tokenizer.json lacks.
        var added = new Dictionary<int, AddedToken>();
        foreach (AddedToken token in config.AddedTokensDecoder)
        {
            added[token.Id] = token;
        }

        foreach (AddedToken token in addedTokens)
        {
            added[token.Id] = token;
        }

        int maxId = -1;
        foreach (int id in model.Vocab.Values)
        {
            maxId = Math.Max(maxId, id);
        }

        foreach (int id in added.Keys)
        {
            maxId = Math.Max(maxId, id);
        }

        VocabSize = maxId + 1;
        _idToToken = new string?[VocabSize];
        _special = new bool[VocabSize];
        foreach ((string token, int id) in model.Vocab)
        {
            _idToToken[id] = token;
        }

        foreach (AddedToken token in added.Values)
        {
            _idToToken[token.Id] = token.Content;
            _special[token.Id] = token.Special;
            _addedByContent[token.Content] = token.Id;
        }

        _splitter = new AddedTokenSplitter(added.Values);
        _tokenBytes = new byte[VocabSize][];
        for (int id = 0; id < VocabSize; id++)
        {
            _tokenBytes[id] = _idToToken[id] is string t ? decoder.GetBytes(t) : [];
        }

        DecodeStripLeadingSpaces = decoder.StripLeadingSpaces;
        BosTokenId = (config.BosToken is string bos ? TokenToId(bos) : null) ?? config.GenerationBosTokenId;
        var eos = new List<int>();
        if (config.EosToken is string eosText && TokenToId(eosText) is int eosId)
        {
            eos.Add(eosId);
        }

        foreach (int id in config.GenerationEosTokenIds)
        {
            if (!eos.Contains(id))
            {
                eos.Add(id);
            }
        }

        EosTokenIds = eos;
        (List<int> prefix, List<int> suffix) = postProcessor ?? ([], []);
        if (Array.IndexOf(s_llamaStyleClasses, config.TokenizerClass) >= 0)
        {
            // Transformers rebuilds these classes' post-processor from add_bos_token / add_eos_token.
            prefix = (config.AddBosToken ?? true) && BosTokenId is int b ? [b] : [];
            suffix = (config.AddEosToken ?? false) && eos.Count > 0 ? [eos[0]] : [];
        }

        _prefixIds = [.. prefix];
        _suffixIds = [.. suffix];
    }

    public int VocabSize { get; }

    public int? BosTokenId { get; }

    public IReadOnlyList<int> EosTokenIds { get; }

    public string? ChatTemplate => Config.ChatTemplate;

    public int DecodeStripLeadingSpaces { get; }

    /// <summary>The parsed tokenizer_config / generation_config values.</summary>
    public TokenizerConfig Config { get; }

    /// <summary>Loads the tokenizer files of <paramref name="modelDir"/>.</summary>
    /// <exception cref="TokenizerLoadException">The folder or its tokenizer files are missing or unsupported.</exception>
    public static HfTokenizer Load(string modelDir)
    {
        if (!Directory.Exists(modelDir))
        {
            throw new TokenizerLoadException($"Tokenizer folder '{modelDir}' does not exist.");
        }

        string tokenizerJson = Path.Combine(modelDir, "tokenizer.json");
        string vocabJson = Path.Combine(modelDir, "vocab.json");
        string mergesTxt = Path.Combine(modelDir, "merges.txt");
        try
        {
            TokenizerConfig config = TokenizerConfig.Load(modelDir);
            if (File.Exists(tokenizerJson))
            {
                return FromTokenizerJson(File.ReadAllBytes(tokenizerJson), config);
            }

            if (File.Exists(vocabJson) && File.Exists(mergesTxt))
            {
                return FromVocabAndMerges(File.ReadAllBytes(vocabJson), File.ReadAllLines(mergesTxt), config);
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or ArgumentException or IndexOutOfRangeException)
        {
            throw new TokenizerLoadException($"Tokenizer files in '{modelDir}' are malformed: {ex.Message}", ex);
        }

        throw new TokenizerLoadException(
            $"No tokenizer found in '{modelDir}': looked for tokenizer.json, or vocab.json + merges.txt (with optional tokenizer_config.json, generation_config.json).");
    }

    /// <summary>Builds a tokenizer from the bytes of a tokenizer.json and an already read config.</summary>
    public static HfTokenizer FromTokenizerJson(ReadOnlySpan<byte> json, TokenizerConfig config)
    {
        using JsonDocument doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 256 });
        JsonElement root = doc.RootElement;
        BpeModel model = TokenizerJson.ReadModel(root.GetProperty("model"));
        List<AddedToken> added = TokenizerJson.ReadAddedTokens(root);
        var lookup = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (AddedToken token in added)
        {
            lookup[token.Content] = token.Id;
        }

        var postProcessor = TokenizerJson.ReadPostProcessor(
            TokenizerJson.GetObject(root, "post_processor"),
            name => lookup.TryGetValue(name, out int id) ? id : model.Vocab.TryGetValue(name, out int v) ? v : null);
        return new HfTokenizer(
            model,
            TextNormalizer.FromJson(TokenizerJson.GetObject(root, "normalizer")),
            PreTokenizer.FromJson(TokenizerJson.GetObject(root, "pre_tokenizer")),
            TokenDecoder.FromJson(TokenizerJson.GetObject(root, "decoder")),
            added,
            postProcessor,
            config);
    }

    /// <summary>GPT-2 style files: vocab.json (token → id) and merges.txt ("#version" line, then "a b" per line).</summary>
    public static HfTokenizer FromVocabAndMerges(ReadOnlySpan<byte> vocabJson, IReadOnlyList<string> mergeLines, TokenizerConfig config)
    {
        using JsonDocument doc = JsonDocument.Parse(vocabJson.ToArray());
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty entry in doc.RootElement.EnumerateObject())
        {
            vocab[entry.Name] = entry.Value.GetInt32();
        }

        var merges = new List<(string, string)>(mergeLines.Count);
        foreach (string line in mergeLines)
        {
            if (line.Length == 0 || (merges.Count == 0 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }

            merges.Add(TokenizerJson.SplitMergeLine(line));
        }

        // GPT2Tokenizer's defaults: <|endoftext|> is bos, eos and unk, and a special token.
        const string EndOfText = "<|endoftext|>";
        var added = new List<AddedToken>();
        if (vocab.TryGetValue(EndOfText, out int endOfText))
        {
            added.Add(new AddedToken(endOfText, EndOfText, Special: true));
            config = config with { BosToken = config.BosToken ?? EndOfText, EosToken = config.EosToken ?? EndOfText };
        }

        var model = new BpeModel(vocab, merges, null, false, false, false, null, null);
        return new HfTokenizer(model, TextNormalizer.FromJson(null), PreTokenizer.ByteLevel(false, true), TokenDecoder.ByteLevel(), added, null, config);
    }

    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens)
        {
            ids.AddRange(_prefixIds);
        }

        var segments = new List<(string Text, int TokenId, int Start)>();
        _splitter.Split(text, segments);
        var preTokens = new List<string>();
        foreach ((string segment, int tokenId, int start) in segments)
        {
            if (tokenId >= 0)
            {
                ids.Add(tokenId);
                continue;
            }

            string normalized = _normalizer.IsIdentity ? segment : _normalizer.Normalize(segment);
            preTokens.Clear();
            _preTokenizer.Split(normalized, start == 0, preTokens);
            foreach (string preToken in preTokens)
            {
                _model.EncodeWord(preToken, ids);
            }
        }

        if (addSpecialTokens)
        {
            ids.AddRange(_suffixIds);
        }

        return ids;
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
        => TokenBytesDecoder.Decode(_tokenBytes, _special, ids, skipSpecialTokens, DecodeStripLeadingSpaces);

    public bool IsSpecial(int id) => (uint)id < (uint)VocabSize && _special[id];

    public string? IdToToken(int id) => (uint)id < (uint)VocabSize ? _idToToken[id] : null;

    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out int added) ? added : _model.Vocab.TryGetValue(token, out int id) ? id : null;

    public ReadOnlySpan<byte> GetTokenBytes(int id) => (uint)id < (uint)VocabSize ? _tokenBytes[id] : [];

}
