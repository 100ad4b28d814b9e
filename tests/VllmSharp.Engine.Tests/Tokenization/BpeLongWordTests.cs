using System.Text.Json;
using VllmSharp.Engine.Tokenization;
using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

/// <summary>
/// BPE on long single pre-tokens (a run of one letter, a random string of few letters) against a plain quadratic
/// reference written from the algorithm's definition: repeatedly merge the adjacent pair of lowest rank, leftmost
/// first. Runs of one character are where merge-table lookups of a token with itself dominate.
/// </summary>
public sealed class BpeLongWordTests
{
    private static readonly Lazy<(HfTokenizer Tokenizer, Dictionary<string, int> Vocab, Dictionary<(string, string), int> Ranks)> s_qwen = new(Load);

    private static (HfTokenizer, Dictionary<string, int>, Dictionary<(string, string), int>) Load()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vllmsharp-bpe-" + Guid.NewGuid().ToString("N"));
        try
        {
            BuiltinTokenizer.WriteTo(dir);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "tokenizer.json")));
            JsonElement model = doc.RootElement.GetProperty("model");
            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (JsonProperty p in model.GetProperty("vocab").EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();
            var ranks = new Dictionary<(string, string), int>();
            int rank = 0;
            foreach (JsonElement merge in model.GetProperty("merges").EnumerateArray())
            {
                (string, string) pair = merge.ValueKind == JsonValueKind.String
                    ? (merge.GetString()!.Split(' ')[0], merge.GetString()!.Split(' ')[1])
                    : (merge[0].GetString()!, merge[1].GetString()!);
                ranks.TryAdd(pair, rank++);
            }
            return (HfTokenizer.Load(dir), vocab, ranks);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The definition, O(n²): merge the lowest-rank adjacent pair (leftmost among equals) until none is left.</summary>
    private static List<int> ReferenceEncode(string word)
    {
        var (_, vocab, ranks) = s_qwen.Value;
        var symbols = word.Select(c => c.ToString()).ToList();
        while (true)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (ranks.TryGetValue((symbols[i], symbols[i + 1]), out int r) && r < bestRank)
                    (best, bestRank) = (i, r);
            if (best < 0) break;
            symbols[best] += symbols[best + 1];
            symbols.RemoveAt(best + 1);
        }
        return symbols.Select(s => vocab[s]).ToList();
    }

    [Theory]
    [InlineData("a", 3000)]
    [InlineData("=", 2500)]
    [InlineData("ab", 1500)]
    public void Encode_LongRunOfOnePattern_MatchesReference(string pattern, int repeats)
    {
        string word = string.Concat(Enumerable.Repeat(pattern, repeats));
        Assert.Equal(ReferenceEncode(word), s_qwen.Value.Tokenizer.Encode(word, addSpecialTokens: false));
    }

    [Theory]
    [InlineData(1, "ab", 2000)]
    [InlineData(2, "abc", 2500)]
    [InlineData(3, "etaoinshrd", 3000)]
    public void Encode_LongRandomWord_MatchesReference(int seed, string alphabet, int length)
    {
        var random = new Random(seed);
        string word = new([.. Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)])]);
        Assert.Equal(ReferenceEncode(word), s_qwen.Value.Tokenizer.Encode(word, addSpecialTokens: false));
    }
}
