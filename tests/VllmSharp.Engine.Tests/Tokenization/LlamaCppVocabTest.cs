namespace VllmSharp.Engine.Tests.Tokenization;

/// <summary>Reads llama.cpp's ggml-vocab-*.gguf.inp/.out reference pairs (format in ../shared/fixtures/README.md).</summary>
public static class LlamaCppVocabTest
{
    private const string Separator = "\n__ggml_vocab_test__\n";

    public static IReadOnlyList<(string Text, int[] Ids)> Read(string inputPath, string outputPath)
    {
        string input = File.ReadAllText(inputPath);
        var texts = new List<string>(input.Split(Separator));
        if (texts[^1].Length == 0)
        {
            texts.RemoveAt(texts.Count - 1);
        }

        string[] lines = File.ReadAllText(outputPath).Split('\n');
        var pairs = new List<(string, int[])>(texts.Count);
        for (int i = 0; i < texts.Count; i++)
        {
            string line = lines[i].Trim();
            int[] ids = line.Length == 0 ? [] : Array.ConvertAll(line.Split(' '), int.Parse);
            pairs.Add((texts[i], ids));
        }

        return pairs;
    }
}
