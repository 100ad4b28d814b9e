using System.Globalization;
using System.Text;
using System.Text.Json;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Loading.Gguf;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// The tokenizer embedded in a GGUF file's <c>tokenizer.ggml.*</c> metadata, encoding as llama.cpp
/// does: <c>gpt2</c> models are byte-level BPE (merge ranks from <c>tokenizer.ggml.merges</c>, the
/// pre-tokenizer regex chosen by <c>tokenizer.ggml.pre</c>), <c>llama</c> models are SentencePiece
/// (score-ordered merges, spaces as ▁, a space prepended to text that starts the input or follows a
/// special token, byte fallback). Control and user-defined tokens are cut out of the text first.
/// Thread-safe after loading.
/// </summary>
public sealed class GgufTokenizer : ITokenizer
{
    private const int TypeUnknown = 2;
    private const int TypeControl = 3;
    private const int TypeUserDefined = 4;
    private const int TypeUnused = 5;
    private const int TypeByte = 6;

    private readonly BpeModel? _bpe;
    private readonly PreTokenizer? _preTokenizer;
    private readonly SpmEncoder? _spm;
    private readonly AddedTokenSplitter _splitter;
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _tokens;
    private readonly byte[][] _tokenBytes;
    private readonly bool[] _special;
    private readonly bool _addBos;
    private readonly bool _addEos;
    private readonly bool _addSpacePrefix;

    private GgufTokenizer(GgufFile file)
    {
        Model = file.Get<string>("tokenizer.ggml.model");
        Pre = file.TryGet("tokenizer.ggml.pre", out string pre) ? pre : "default";
        _tokens = file.Get<string[]>("tokenizer.ggml.tokens");
        int[] types = file.TryGet("tokenizer.ggml.token_type", out int[] t) ? t : [];
        VocabSize = _tokens.Length;
        _vocab = new Dictionary<string, int>(VocabSize, StringComparer.Ordinal);
        for (int id = 0; id < _tokens.Length; id++)
        {
            // Later duplicates win, like llama.cpp's token_to_id map.
            _vocab[_tokens[id]] = id;
        }

        _special = new bool[VocabSize];
        var added = new List<AddedToken>();
        for (int id = 0; id < VocabSize && id < types.Length; id++)
        {
            if (types[id] is TypeControl or TypeUserDefined)
            {
                added.Add(new AddedToken(id, _tokens[id], Special: types[id] == TypeControl));
            }

            _special[id] = types[id] is TypeControl or TypeUnknown;
        }

        _splitter = new AddedTokenSplitter(added);
        BosTokenId = file.TryGet("tokenizer.ggml.bos_token_id", out int bos) && (uint)bos < (uint)VocabSize ? bos : null;
        var eos = new List<int>();
        foreach (string key in (ReadOnlySpan<string>)["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"])
        {
            if (file.TryGet(key, out int id) && (uint)id < (uint)VocabSize && !eos.Contains(id))
            {
                eos.Add(id);
            }
        }

        EosTokenIds = eos;
        ChatTemplate = file.TryGet("tokenizer.chat_template", out string template) ? template : null;
        _addEos = file.TryGet("tokenizer.ggml.add_eos_token", out bool addEos) && addEos;

        TokenDecoder? byteLevel = null;
        switch (Model)
        {
            case "gpt2":
                // llama.cpp's llama3 pre type adds BOS by default and emits whole words found in the
                // vocabulary without merging (like tokenizer.json's ignore_merges).
                bool llama3 = Pre is "llama-bpe" or "llama3" or "llama-v3";
                _addBos = file.TryGet("tokenizer.ggml.add_bos_token", out bool addBosBpe) ? addBosBpe : llama3;
                string[] mergeLines = file.Get<string[]>("tokenizer.ggml.merges");
                var merges = new List<(string, string)>(mergeLines.Length);
                foreach (string line in mergeLines)
                {
                    merges.Add(TokenizerJson.SplitMergeLine(line));
                }

                _bpe = new BpeModel(_vocab, merges, null, false, false, llama3, null, null);
                _preTokenizer = CreateByteLevelPreTokenizer(Pre);
                byteLevel = TokenDecoder.ByteLevel();
                break;
            case "llama":
                _addBos = !file.TryGet("tokenizer.ggml.add_bos_token", out bool addBosSpm) || addBosSpm;
                _addSpacePrefix = !file.TryGet("tokenizer.ggml.add_space_prefix", out bool space) || space;
                float[] scores = file.TryGet("tokenizer.ggml.scores", out float[] s) ? s : new float[VocabSize];
                int? unk = file.TryGet("tokenizer.ggml.unknown_token_id", out int u) ? u : _vocab.TryGetValue("<unk>", out int u2) ? u2 : null;
                _spm = new SpmEncoder(_vocab, scores, unk);
                DecodeStripLeadingSpaces = _addSpacePrefix ? 1 : 0;
                break;
            default:
                throw new TokenizerLoadException($"GGUF tokenizer model '{Model}' is not supported (supported: gpt2, llama).");
        }

        _tokenBytes = new byte[VocabSize][];
        for (int id = 0; id < VocabSize; id++)
        {
            int type = id < types.Length ? types[id] : 1;
            string token = _tokens[id];
            // llama.cpp renders unused (padding) tokens as nothing.
            _tokenBytes[id] = type == TypeUnused ? []
                : type is TypeControl or TypeUserDefined or TypeUnknown ? Encoding.UTF8.GetBytes(token)
                : byteLevel is not null ? byteLevel.GetBytes(token)
                : type == TypeByte && TryParseByteToken(token, out byte b) ? [b]
                : Encoding.UTF8.GetBytes(token.Replace('▁', ' '));
        }
    }

    public int VocabSize { get; }

    public int? BosTokenId { get; }

    public IReadOnlyList<int> EosTokenIds { get; }

    public string? ChatTemplate { get; }

    public int DecodeStripLeadingSpaces { get; }

    /// <summary>tokenizer.ggml.model: "gpt2" or "llama".</summary>
    public string Model { get; }

    /// <summary>tokenizer.ggml.pre ("default" when absent).</summary>
    public string Pre { get; }

    /// <summary>Reads the tokenizer of the GGUF file at <paramref name="path"/>.</summary>
    /// <exception cref="TokenizerLoadException">The metadata lacks a supported tokenizer.</exception>
    public static GgufTokenizer Load(string path)
    {
        using GgufFile file = GgufFile.Open(path);
        return FromGguf(file);
    }

    /// <summary>Builds the tokenizer from an already opened GGUF file's metadata.</summary>
    /// <exception cref="TokenizerLoadException">The metadata lacks a supported tokenizer.</exception>
    public static GgufTokenizer FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        try
        {
            return new GgufTokenizer(file);
        }
        catch (Exception ex) when (ex is not TokenizerLoadException and (InvalidOperationException or ArgumentException or FormatException or KeyNotFoundException))
        {
            throw new TokenizerLoadException($"GGUF tokenizer metadata in '{file.Path}' is malformed: {ex.Message}", ex);
        }
        catch (ModelLoadException ex)
        {
            throw new TokenizerLoadException($"GGUF tokenizer metadata in '{file.Path}' is incomplete: {ex.Message}", ex);
        }
    }

    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens && _addBos && BosTokenId is int bos)
        {
            ids.Add(bos);
        }

        var segments = new List<(string Text, int TokenId, int Start)>();
        _splitter.Split(text, segments);
        var preTokens = new List<string>();
        bool afterSpecial = true; // llama.cpp prefixes a space to the first text and to text after a special token.
        foreach ((string segment, int tokenId, int start) in segments)
        {
            if (tokenId >= 0)
            {
                ids.Add(tokenId);
                afterSpecial = true;
                continue;
            }

            if (_spm is not null)
            {
                string escaped = ((_addSpacePrefix && afterSpecial ? " " : "") + segment).Replace(' ', '▁');
                _spm.Encode(escaped, ids);
            }
            else
            {
                preTokens.Clear();
                _preTokenizer!.Split(segment, start == 0, preTokens);
                foreach (string preToken in preTokens)
                {
                    _bpe!.EncodeWord(preToken, ids);
                }
            }

            afterSpecial = false;
        }

        if (addSpecialTokens && _addEos && EosTokenIds.Count > 0)
        {
            ids.Add(EosTokenIds[0]);
        }

        return ids;
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
        => TokenBytesDecoder.Decode(_tokenBytes, _special, ids, skipSpecialTokens, DecodeStripLeadingSpaces);

    public bool IsSpecial(int id) => (uint)id < (uint)VocabSize && _special[id];

    public string? IdToToken(int id) => (uint)id < (uint)VocabSize ? _tokens[id] : null;

    public int? TokenToId(string token) => _vocab.TryGetValue(token, out int id) ? id : null;

    public ReadOnlySpan<byte> GetTokenBytes(int id) => (uint)id < (uint)VocabSize ? _tokenBytes[id] : [];


    /// <summary>
    /// The pre-tokenizer of llama.cpp's pre type, as the equivalent tokenizer.json Split + ByteLevel
    /// steps (the regexes are llama.cpp's, written in .NET syntax).
    /// </summary>
    private static PreTokenizer CreateByteLevelPreTokenizer(string pre)
    {
        string? pattern = pre switch
        {
            "qwen2" => @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
            "qwen35" => @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
            "llama-bpe" or "llama3" or "llama-v3" => @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
            "gpt-2" or "default" => null,
            _ => throw new TokenizerLoadException($"GGUF pre-tokenizer '{pre}' is not supported (supported: qwen2, qwen35, llama-bpe, gpt-2, default)."),
        };
        if (pattern is null)
        {
            return PreTokenizer.ByteLevel(false, true);
        }

        string json = JsonSerializer.Serialize(new
        {
            type = "Sequence",
            pretokenizers = new object[]
            {
                new { type = "Split", pattern = new { Regex = pattern }, behavior = "Isolated", invert = false },
                new { type = "ByteLevel", add_prefix_space = false, trim_offsets = false, use_regex = false },
            },
        });
        using JsonDocument doc = JsonDocument.Parse(json);
        return PreTokenizer.FromJson(doc.RootElement);
    }

    private static bool TryParseByteToken(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
    }
}
