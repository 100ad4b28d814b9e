using System.Runtime.CompilerServices;
using VllmSharp.Core.Config;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using Xunit;

namespace VllmSharp.Engine.Tests.Offline;

/// <summary>The README's offline-API example, compiled and run here; the test fails when the two drift apart.</summary>
public sealed class ReadmeExampleTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    [Fact]
    public void ReadmeExample_CompilesRunsAndMatchesTheReadme()
    {
        string modelPath = model.Path;
        var console = new StringWriter();
        TextWriter previous = Console.Out;
        Console.SetOut(console);
        try
        {
            // README example begin
            using var llm = new LLM(new EngineArgs { Model = modelPath, MaxModelLen = 2048, KvCacheMemory = "1GiB" });
            var prompts = new[] { "Hello, my name is", "The capital of France is" };
            var samplingParams = new SamplingParams { Temperature = 0.8, TopP = 0.95, MaxTokens = 16 };
            foreach (RequestOutput output in llm.Generate(prompts, samplingParams))
                Console.WriteLine($"{output.Prompt} => {output.Outputs[0].Text}");
            // README example end
        }
        finally
        {
            Console.SetOut(previous);
        }
        string[] printed = console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, printed.Length);
        Assert.StartsWith("Hello, my name is => ", printed[0]);
        Assert.Equal(ExampleFromThisFile(), ExampleFromReadme());
    }

    private static string[] ExampleFromThisFile([CallerFilePath] string path = "")
    {
        string[] lines = File.ReadAllLines(path);
        int begin = Array.FindIndex(lines, l => l.Trim() == "// README example begin");
        int end = Array.FindIndex(lines, l => l.Trim() == "// README example end");
        return lines[(begin + 1)..end].Select(l => l.Trim()).ToArray();
    }

    private static string[] ExampleFromReadme([CallerFilePath] string path = "")
    {
        string readme = File.ReadAllText(Path.Combine(Path.GetDirectoryName(path)!, "..", "..", "..", "README.md"));
        int start = readme.IndexOf("```csharp", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no ```csharp block");
        int end = readme.IndexOf("```", start + 9, StringComparison.Ordinal);
        string[] block = readme[(start + 9)..end].Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        // The README's lines before the engine is created set up usings and the model path.
        int first = Array.FindIndex(block, l => l.StartsWith("using var llm", StringComparison.Ordinal));
        return block[first..];
    }
}
