using VllmSharp.Core.Config;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Core;
using VllmSharp.Engine.StructuredOutput;
using VllmSharp.Engine.Tests.Offline;
using Xunit;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>
/// The vocabulary trie is built ahead of the first constrained request: once per tokenizer whoever asks first,
/// a constrained request arriving mid-build waits for that build instead of starting another, unconstrained
/// requests never wait, and a failed background build reaches the constrained requests as an error.
/// </summary>
public sealed class TrieAheadOfTimeTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    // Only a broken implementation gets near it (a wait that never ends): the test then fails instead of hanging the run.
    private const int HangGuardMs = 60_000;
    private static readonly StructuredOutputsParams s_digits = StructuredOutputsParams.ForRegex("[0-9]+");

    [Fact]
    public async Task Prewarm_ThenConstrainedCompile_DoesNotRebuildTrie()
    {
        var tokenizer = new GatedTokenizer("1", "2", "12", "x");
        Task prewarm = StructuredOutputManager.Prewarm(tokenizer);
        Assert.Same(prewarm, StructuredOutputManager.Prewarm(tokenizer)); // a second prewarm starts nothing
        await prewarm;
        int reads = tokenizer.Reads;

        StructuredOutputGrammar grammar = StructuredOutputManager.For(tokenizer).Compile(s_digits);

        Assert.Equal(1, TokenTrie.BuildCount(tokenizer));
        Assert.Equal(reads, tokenizer.Reads); // compiling read no token bytes: it used the prewarmed trie
        Assert.Equal(3, StructuredOutputGrammar.CountAllowed(grammar.Mask(grammar.StartState))); // "1", "2", "12"
    }

    [Fact(Timeout = HangGuardMs)]
    public async Task Compile_WhileBackgroundBuildRuns_WaitsForItInsteadOfBuildingAgain()
    {
        var tokenizer = new GatedTokenizer("1", "2", "12", "x");
        tokenizer.Close();
        Task prewarm = StructuredOutputManager.Prewarm(tokenizer);
        Task<StructuredOutputGrammar> compile = Task.Run(() => StructuredOutputManager.For(tokenizer).Compile(s_digits), TestContext.Current.CancellationToken);
        await WaitUntil(() => tokenizer.Reads > 0); // the background build is under way, blocked on the gate
        Assert.False(compile.IsCompleted); // cannot finish: its trie is held up behind the gate

        tokenizer.Open();
        StructuredOutputGrammar grammar = await compile;
        await prewarm;

        Assert.Equal(1, TokenTrie.BuildCount(tokenizer));
        Assert.Equal(3, StructuredOutputGrammar.CountAllowed(grammar.Mask(grammar.StartState)));
    }

    [Fact]
    public async Task Prewarm_BuildFails_ConstrainedRequestsGetClearErrorAndPrewarmDoesNotFault()
    {
        var broken = new IOException("vocabulary file truncated");
        var tokenizer = new GatedTokenizer("1", "2") { Failure = broken };

        await StructuredOutputManager.Prewarm(tokenizer); // completes: the failure is not thrown on the background thread
        var manager = StructuredOutputManager.For(tokenizer);
        var first = Assert.Throws<InvalidOperationException>(() => manager.Compile(s_digits));
        var second = Assert.Throws<InvalidOperationException>(() => manager.CreateMatcher(StructuredOutputsParams.ForChoice("1")));

        Assert.Contains("token trie", first.Message, StringComparison.Ordinal);
        Assert.Contains("vocabulary file truncated", first.Message, StringComparison.Ordinal);
        Assert.Same(broken, first.InnerException);
        Assert.Same(broken, second.InnerException);
        Assert.Equal(1, TokenTrie.BuildCount(tokenizer)); // the failure is remembered, not retried per request
    }

    [Fact(Timeout = HangGuardMs)]
    public async Task Process_UnconstrainedWhileTrieBuilds_DoesNotWait()
    {
        var tokenizer = new GatedTokenizer("1", "2", "12", "x");
        tokenizer.Close();
        Task prewarm = StructuredOutputManager.Prewarm(tokenizer);
        await WaitUntil(() => tokenizer.Reads > 0);
        var processor = new InputProcessor(tokenizer, maxModelLen: 64, blockSize: 16, vocabSize: tokenizer.VocabSize);

        // Runs while the build is blocked behind the gate: it would never finish if it waited for the trie.
        ProcessedRequest request = await Task.Run(
            () => processor.Process("r", PromptInput.FromTokens([1, 2]), new SamplingParams { MaxTokens = 4 }, arrivalTime: 0),
            TestContext.Current.CancellationToken);

        Assert.Single(request.Children);
        Assert.False(prewarm.IsCompleted);
        tokenizer.Open();
        await prewarm;
    }

    [Fact]
    public async Task EngineStart_StartsTrieBuild_FirstConstrainedRequestReusesIt()
    {
        using var llm = new LLM(new EngineArgs { Model = model.Path, MaxModelLen = 128, KvCacheMemory = "16MiB" });

        Task? background = TokenTrie.PrewarmTask(llm.Tokenizer);
        Assert.NotNull(background); // started by the engine, before any constrained request
        await background;
        var output = llm.Generate("Number:", new SamplingParams { Temperature = 0, MaxTokens = 4, StructuredOutputs = s_digits });

        Assert.Matches("^[0-9]+$", output.Outputs[0].Text);
        Assert.Equal(1, TokenTrie.BuildCount(llm.Tokenizer));
    }

    // Waits for another thread's progress without a wall-clock assumption (HangGuardMs bounds it).
    private static async Task WaitUntil(Func<bool> condition)
    {
        while (!condition()) await Task.Delay(1, TestContext.Current.CancellationToken);
    }
}
