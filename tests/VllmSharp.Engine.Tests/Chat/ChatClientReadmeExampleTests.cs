using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using VllmSharp.Core.Config;
using VllmSharp.Engine.Chat;
using VllmSharp.Engine.Tests.Offline;
using Xunit;

namespace VllmSharp.Engine.Tests.Chat;

/// <summary>The README's IChatClient example, compiled and run here; the test fails when the two drift apart.</summary>
[Collection(typeof(ConsoleWritingTests))]
public sealed class ChatClientReadmeExampleTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    // The example is user code as the README shows it, without the test's cancellation token.
#pragma warning disable xUnit1051
    [Fact]
    public async Task ReadmeChatClientExample_CompilesRunsAndMatchesTheReadme()
    {
        string modelPath = model.Path;
        var console = new StringWriter();
        TextWriter previous = Console.Out;
        Console.SetOut(console);
        ChatResponse reply;
        try
        {
            // README example begin
            using var engine = new AsyncLLM(new EngineArgs { Model = modelPath, MaxModelLen = 2048, KvCacheMemory = "1GiB" });
            IChatClient client = new VllmChatClient(engine);
            var options = new ChatOptions { Temperature = 0.7f, MaxOutputTokens = 32, StopSequences = ["\n\n"] };
            reply = await client.GetResponseAsync([new(ChatRole.System, "You are terse."), new(ChatRole.User, "What is paged attention?")], options);
            Console.WriteLine($"{reply.Text} ({reply.FinishReason}, {reply.Usage?.OutputTokenCount} tokens)");
            await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync("Tell me a joke", options))
                Console.Write(update.Text);
            // README example end
        }
        finally
        {
            Console.SetOut(previous);
        }
        Assert.Contains($"({reply.FinishReason}, {reply.Usage!.OutputTokenCount} tokens)", console.ToString());
        Assert.InRange(reply.Usage.OutputTokenCount ?? 0, 1, 32);
        Assert.Equal(ExampleFromThisFile(), ExampleFromReadme());
    }
#pragma warning restore xUnit1051

    private static string[] ExampleFromThisFile([CallerFilePath] string path = "")
    {
        string[] lines = File.ReadAllLines(path);
        int begin = Array.FindIndex(lines, l => l.Trim() == "// README example begin");
        int end = Array.FindIndex(lines, l => l.Trim() == "// README example end");
        // The test assigns the reply declared outside the try block; the README declares it.
        return lines[(begin + 1)..end].Select(l => l.Trim().Replace("reply = await", "ChatResponse reply = await")).ToArray();
    }

    private static string[] ExampleFromReadme([CallerFilePath] string path = "")
    {
        string readme = File.ReadAllText(Path.Combine(Path.GetDirectoryName(path)!, "..", "..", "..", "README.md"));
        int client = readme.IndexOf("new VllmChatClient(engine)", StringComparison.Ordinal);
        Assert.True(client >= 0, "README.md has no VllmChatClient example");
        int start = readme.LastIndexOf("```csharp", client, StringComparison.Ordinal);
        int end = readme.IndexOf("```", client, StringComparison.Ordinal);
        string[] block = readme[(start + 9)..end].Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        // The README's lines before the engine is created set up usings and the model path.
        int first = Array.FindIndex(block, l => l.StartsWith("using var engine", StringComparison.Ordinal));
        return block[first..];
    }
}
