using VllmSharp.Engine.Core;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Loading.Gguf;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

/// <summary>
/// The engine's tokenizer loading over corrupted GGUF metadata: 300 random byte flips and truncations of a small
/// vocabulary (with merges and a chat template) may only ever end in a loaded tokenizer or a
/// <see cref="ModelLoadException"/> naming the file.
/// </summary>
public sealed class GgufTokenizerLoadFuzzTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vllmsharp-gguf-fuzz-" + Guid.NewGuid().ToString("N"));

    public GgufTokenizerLoadFuzzTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void LoadTokenizer_FuzzedGguf_OnlyModelLoadException()
    {
        GgufVocabulary vocabulary = ByteLevelTestVocabulary.Create();
        string[] tokens = [.. vocabulary.Tokens, "Ġt", "he", "Ġthe"];
        int[] types = [.. vocabulary.TokenTypes, GgufVocabulary.Normal, GgufVocabulary.Normal, GgufVocabulary.Normal];
        vocabulary = vocabulary with { Tokens = tokens, TokenTypes = types, Merges = ["Ġ t", "h e", "Ġt he"] };
        string valid = Path.Combine(_dir, "valid.gguf");
        var writer = new GgufWriter(valid);
        vocabulary.WriteTo(writer);
        writer.Write();
        Assert.Equal([261], EngineFactory.LoadTokenizer(valid).Encode(" the", addSpecialTokens: false)); // merges apply: "Ġthe"
        byte[] original = File.ReadAllBytes(valid);
        var random = new Random(4321);
        string path = Path.Combine(_dir, "fuzz.gguf");
        int refused = 0;
        for (int iteration = 0; iteration < 300; iteration++)
        {
            byte[] bytes = (byte[])original.Clone();
            if (random.Next(5) == 0)
            {
                bytes = bytes[..random.Next(bytes.Length)];
            }
            else
            {
                for (int flips = random.Next(1, 9); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                }
            }

            File.WriteAllBytes(path, bytes);
            try
            {
                ITokenizer tokenizer = EngineFactory.LoadTokenizer(path);
                tokenizer.Decode([.. tokenizer.Encode("Hello <|im_start|> the world")]);
            }
            catch (ModelLoadException e)
            {
                Assert.StartsWith(path, e.Message);
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {iteration}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }

        Assert.True(refused > 50, $"only {refused} of 300 corruptions were refused");
    }
}
