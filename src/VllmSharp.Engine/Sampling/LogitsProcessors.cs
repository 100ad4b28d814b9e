using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.Sampling;

/// <summary>
/// One request's built-in logits processors (vLLM v1's allowed_token_ids, bad_words and logit_bias), prepared once when
/// the request enters the model runner and applied to its row every step. A request without any of them has none
/// (<see cref="Create"/> returns null), so its rows are not touched at all.
/// </summary>
internal sealed class LogitsProcessors
{
    private readonly int[] _allowed;          // distinct, ascending; empty: no restriction
    private readonly int[] _biasIds;
    private readonly float[] _biasValues;
    private readonly int[][] _badWords;       // token sequences; a single token is banned at every step
    private readonly List<int> _output = [];  // generated tokens, for multi-token bad words
    private readonly bool _keepsOutput;
    private float[] _saved = [];

    private LogitsProcessors(int[] allowed, int[] biasIds, float[] biasValues, int[][] badWords)
    {
        _allowed = allowed;
        _biasIds = biasIds;
        _biasValues = biasValues;
        _badWords = badWords;
        foreach (int[] word in badWords) _keepsOutput |= word.Length > 1;
    }

    /// <summary>The processors <paramref name="p"/> asks for, or null when it asks for none.</summary>
    /// <param name="tokenizer">Tokenizes bad_words; required only when there are some.</param>
    public static LogitsProcessors? Create(SamplingParams p, ITokenizer? tokenizer)
    {
        ArgumentNullException.ThrowIfNull(p);
        bool hasBias = p.LogitBias is { Count: > 0 };
        if (!hasBias && p.AllowedTokenIds is null && p.BadWords.Count == 0) return null;

        int[] allowed = p.AllowedTokenIds is { } ids ? [.. new SortedSet<int>(ids)] : [];
        var biasIds = new int[hasBias ? p.LogitBias!.Count : 0];
        var biasValues = new float[biasIds.Length];
        int b = 0;
        if (hasBias)
        {
            foreach ((int id, double value) in p.LogitBias!)
            {
                biasIds[b] = id;
                biasValues[b++] = (float)value;
            }
        }
        int[][] badWords = [];
        if (p.BadWords.Count > 0)
        {
            if (tokenizer is null) throw new InvalidOperationException("bad_words need the model runner to have the tokenizer.");
            badWords = TokenizeBadWords(p.BadWords, tokenizer);
        }
        return new LogitsProcessors(allowed, biasIds, biasValues, badWords);
    }

    /// <summary>
    /// vLLM's tokenization of bad words: each word (leading spaces stripped) as is, and again with one leading space
    /// when that gives a different first token and the same number of tokens (the word in the middle of a text).
    /// </summary>
    public static int[][] TokenizeBadWords(IReadOnlyList<string> words, ITokenizer tokenizer)
    {
        var result = new List<int[]>();
        foreach (string word in words)
        {
            string bare = word.TrimStart();
            int[] plain = [.. tokenizer.Encode(bare, addSpecialTokens: false)];
            if (plain.Length == 0) continue;
            result.Add(plain);
            int[] spaced = [.. tokenizer.Encode(" " + bare, addSpecialTokens: false)];
            if (spaced.Length == plain.Length && spaced[0] != plain[0]) result.Add(spaced);
        }
        return [.. result];
    }

    /// <summary>The token sequences banned as bad words (for tests and diagnostics).</summary>
    public IReadOnlyList<int[]> BadWordTokenIds => _badWords;

    /// <summary>Records a generated token (multi-token bad words look at the end of the output).</summary>
    public void Append(int tokenId)
    {
        if (_keepsOutput) _output.Add(tokenId);
    }

    /// <summary>Applies allowed_token_ids, bad_words, then logit_bias (vLLM's order) to one row of logits.</summary>
    public void Apply(Span<float> row)
    {
        if (_allowed.Length > 0) ApplyAllowed(row);
        foreach (int[] word in _badWords)
        {
            int last = word[^1];
            if ((uint)last < (uint)row.Length && EndsWithPrefix(word)) row[last] = float.NegativeInfinity;
        }
        for (int i = 0; i < _biasIds.Length; i++)
        {
            int id = _biasIds[i];
            if ((uint)id < (uint)row.Length) row[id] += _biasValues[i];
        }
    }

    // Keeps the allowed values aside, fills the row with −∞ in one vector pass, puts them back: O(vocab + allowed).
    private void ApplyAllowed(Span<float> row)
    {
        if (_saved.Length < _allowed.Length) _saved = new float[_allowed.Length];
        for (int i = 0; i < _allowed.Length; i++) _saved[i] = (uint)_allowed[i] < (uint)row.Length ? row[_allowed[i]] : 0;
        row.Fill(float.NegativeInfinity);
        for (int i = 0; i < _allowed.Length; i++)
            if ((uint)_allowed[i] < (uint)row.Length) row[_allowed[i]] = _saved[i];
    }

    // True when the output ends with all of the word's tokens but its last (always true for one-token words).
    private bool EndsWithPrefix(int[] word)
    {
        int prefix = word.Length - 1;
        if (prefix == 0) return true;
        if (_output.Count < prefix) return false;
        int start = _output.Count - prefix;
        for (int i = 0; i < prefix; i++)
            if (_output[start + i] != word[i]) return false;
        return true;
    }
}
