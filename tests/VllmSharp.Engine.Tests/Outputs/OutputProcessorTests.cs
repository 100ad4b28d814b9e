using VllmSharp.Core.Outputs;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Outputs;
using Xunit;

namespace VllmSharp.Engine.Tests.Outputs;

public sealed class OutputProcessorTests
{
    private static readonly SamplingParams Cumulative = new() { OutputKind = RequestOutputKind.Cumulative };
    private static readonly SamplingParams Delta = new() { OutputKind = RequestOutputKind.Delta };
    private static readonly SamplingParams FinalOnly = new() { OutputKind = RequestOutputKind.FinalOnly };

    [Fact]
    public void ProcessOutputs_Cumulative_ReportsWholeTextAndTokensEveryStep()
    {
        var h = new OutputProcessorHarness("Hello", " world", "!");
        h.Add("r", Cumulative);

        CompletionOutput first = OutputProcessorHarness.Single(h.Step(h.Out("r", "Hello")));
        CompletionOutput second = OutputProcessorHarness.Single(h.Step(h.Out("r", " world")));
        ProcessedOutputs last = h.Step(h.Length("r", "!"));

        Assert.Equal("Hello", first.Text);
        Assert.Null(first.FinishReason);
        Assert.Equal("Hello world", second.Text);
        Assert.Equal(h.Tokenizer.Ids("Hello", " world"), second.TokenIds);
        RequestOutput final = Assert.Single(last.RequestOutputs);
        Assert.True(final.Finished);
        Assert.Equal("Hello world!", final.Outputs[0].Text);
        Assert.Equal(h.Tokenizer.Ids("Hello", " world", "!"), final.Outputs[0].TokenIds);
        Assert.Equal("length", final.Outputs[0].FinishReason);
        Assert.Equal("r", final.RequestId);
        Assert.Equal("prompt", final.Prompt);
        Assert.Equal([7, 8, 9], final.PromptTokenIds);
        Assert.Empty(last.ChildRequestsToAbort);
        Assert.Equal(0, h.Processor.NumUnfinishedRequests);
    }

    [Fact]
    public void ProcessOutputs_Delta_ReportsOnlyWhatIsNew()
    {
        var h = new OutputProcessorHarness("Hello", " world", "!", "?");
        h.Add("r", Delta);

        CompletionOutput first = OutputProcessorHarness.Single(h.Step(h.Out("r", "Hello")));
        CompletionOutput second = OutputProcessorHarness.Single(h.Step(h.Out("r", " world", "!")));
        CompletionOutput last = OutputProcessorHarness.Single(h.Step(h.Length("r", "?")));

        Assert.Equal("Hello", first.Text);
        Assert.Equal(h.Tokenizer.Ids("Hello"), first.TokenIds);
        Assert.Equal(" world!", second.Text);
        Assert.Equal(h.Tokenizer.Ids(" world", "!"), second.TokenIds);
        Assert.Equal("?", last.Text);
        Assert.Equal(h.Tokenizer.Ids("?"), last.TokenIds);
        Assert.Equal("length", last.FinishReason);
    }

    [Fact]
    public void ProcessOutputs_Delta_FinalReportCarriesFinishReasonWithEmptyText()
    {
        var h = new OutputProcessorHarness("Hi");
        h.Add("r", Delta);
        h.Step(h.Out("r", "Hi"));

        ProcessedOutputs last = h.Step(new EngineCoreOutput("r", [FakeTokenizer.Eos], RequestStatus.FinishedStopped));

        CompletionOutput output = OutputProcessorHarness.Single(last);
        Assert.Equal("", output.Text);
        Assert.Equal([FakeTokenizer.Eos], output.TokenIds);
        Assert.Equal("stop", output.FinishReason);
        Assert.Null(output.StopReason);
        Assert.True(last.RequestOutputs[0].Finished);
    }

    [Fact]
    public void ProcessOutputs_Delta_OutputWithNothingNewIsOmitted()
    {
        var h = new OutputProcessorHarness("Hi");
        h.Add("r", Delta);
        h.Step(h.Out("r", "Hi"));

        ProcessedOutputs empty = h.Step(new EngineCoreOutput("r", []));

        Assert.Empty(empty.RequestOutputs);
    }

    [Fact]
    public void ProcessOutputs_FinalOnly_ReportsOnceWhenFinished()
    {
        var h = new OutputProcessorHarness("a", "b", "c");
        h.Add("r", FinalOnly);

        ProcessedOutputs s1 = h.Step(h.Out("r", "a"));
        ProcessedOutputs s2 = h.Step(h.Out("r", "b"));
        ProcessedOutputs s3 = h.Step(h.Length("r", "c"));

        Assert.Empty(s1.RequestOutputs);
        Assert.Empty(s2.RequestOutputs);
        CompletionOutput final = OutputProcessorHarness.Single(s3);
        Assert.Equal("abc", final.Text);
        Assert.Equal(h.Tokenizer.Ids("a", "b", "c"), final.TokenIds);
        Assert.True(s3.RequestOutputs[0].Finished);
    }

    [Fact]
    public void ProcessOutputs_StopTokenId_FinishesWithStopAndTokenIdAsReasonWithoutItsText()
    {
        var h = new OutputProcessorHarness("line", "\n");
        int newline = h.Tokenizer.Ids("\n")[0];
        h.Add("r", Cumulative with { StopTokenIds = [newline] });

        CompletionOutput output = OutputProcessorHarness.Single(
            h.Step(h.Finish("r", RequestStatus.FinishedStopped, newline, "line", "\n")));

        // As vLLM: the stop token stays in the ids but its text is not part of the output.
        Assert.Equal("line", output.Text);
        Assert.Equal(h.Tokenizer.Ids("line", "\n"), output.TokenIds);
        Assert.Equal("stop", output.FinishReason);
        Assert.Equal(newline, output.StopReason);
    }

    [Fact]
    public void ProcessOutputs_StopTokenIdWithIncludeStopStr_KeepsItsText()
    {
        var h = new OutputProcessorHarness("line", "\n");
        int newline = h.Tokenizer.Ids("\n")[0];
        h.Add("r", Cumulative with { StopTokenIds = [newline], IncludeStopStrInOutput = true });

        CompletionOutput output = OutputProcessorHarness.Single(
            h.Step(h.Finish("r", RequestStatus.FinishedStopped, newline, "line", "\n")));

        Assert.Equal("line\n", output.Text);
    }

    [Fact]
    public void ProcessOutputs_EosWithSpecialTokensKept_FinishesStopWithNullReasonAndNoEosText()
    {
        var h = new OutputProcessorHarness("Hi");
        h.Add("r", Cumulative with { SkipSpecialTokens = false });

        CompletionOutput output = OutputProcessorHarness.Single(
            h.Step(new EngineCoreOutput("r", [.. h.Tokenizer.Ids("Hi"), FakeTokenizer.Eos], RequestStatus.FinishedStopped)));

        Assert.Equal("Hi", output.Text);
        Assert.Equal("stop", output.FinishReason);
        Assert.Null(output.StopReason);
    }

    [Fact]
    public void ProcessOutputs_LengthCapped_FinishReasonLength()
    {
        var h = new OutputProcessorHarness("x");
        h.Add("r", Delta);

        CompletionOutput output = OutputProcessorHarness.Single(h.Step(h.Length("r", "x")));

        Assert.Equal(("x", "length"), (output.Text, output.FinishReason));
        Assert.Null(output.StopReason);
    }

    [Fact]
    public void ProcessOutputs_DetokenizeFalse_TextStaysEmptyAndStopStringsAreIgnored()
    {
        var h = new OutputProcessorHarness("abc", "STOP");
        h.Add("r", Cumulative with { Detokenize = false, Stop = ["STOP"] });

        CompletionOutput step = OutputProcessorHarness.Single(h.Step(h.Out("r", "abc", "STOP")));
        CompletionOutput final = OutputProcessorHarness.Single(h.Step(h.Length("r", "abc")));

        Assert.Equal("", step.Text);
        Assert.Null(step.FinishReason);
        Assert.Equal("", final.Text);
        Assert.Equal(h.Tokenizer.Ids("abc", "STOP", "abc"), final.TokenIds);
        Assert.Equal("length", final.FinishReason);
    }

    [Fact]
    public void ProcessOutputs_TokenSplitsCharacter_NeverStreamsReplacementCharacter()
    {
        var h = new OutputProcessorHarness("a");
        // U+1F600 is F0 9F 98 80 in UTF-8; split it over two tokens.
        int head = h.Tokenizer.AddBytes(0xF0, 0x9F);
        int tail = h.Tokenizer.AddBytes(0x98, 0x80);
        h.Add("r", Delta);

        CompletionOutput s1 = OutputProcessorHarness.Single(h.Step(new EngineCoreOutput("r", [h.Tokenizer.Ids("a")[0], head])));
        CompletionOutput s2 = OutputProcessorHarness.Single(h.Step(new EngineCoreOutput("r", [tail])));
        CompletionOutput s3 = OutputProcessorHarness.Single(h.Step(new EngineCoreOutput("r", [head], RequestStatus.FinishedLengthCapped)));

        Assert.Equal("a", s1.Text);
        Assert.Equal("\U0001F600", s2.Text);
        // An incomplete character at the end is shown as Decode shows it.
        Assert.Equal(h.Tokenizer.Decode([head]), s3.Text);
        Assert.Equal("\uFFFD", s3.Text);
    }

    [Fact]
    public void ProcessOutputs_Metrics_TrackArrivalFirstLastAndFinishTimesAndCachedTokens()
    {
        var h = new OutputProcessorHarness("a");
        h.Add("r", Cumulative); // arrival 100
        h.Step(new EngineCoreOutput("r", [])); // 101: scheduled, prefill chunk, no token yet
        RequestOutput first = h.Step(new EngineCoreOutput("r", h.Tokenizer.Ids("a"), NumCachedTokens: 16)).RequestOutputs[0]; // 102
        RequestOutput second = h.Step(new EngineCoreOutput("r", h.Tokenizer.Ids("a"), NumCachedTokens: 3)).RequestOutputs[0]; // 103
        RequestOutput last = h.Step(h.Length("r", "a")).RequestOutputs[0]; // 104

        Assert.Equal(100, first.Metrics.ArrivalTime);
        Assert.Equal(102, first.Metrics.FirstTokenTime);
        Assert.Equal(102, first.Metrics.LastTokenTime);
        Assert.Null(first.Metrics.FinishedTime);
        Assert.Equal(16, first.NumCachedTokens);
        Assert.Equal(103, second.Metrics.LastTokenTime);
        Assert.Equal(16, second.NumCachedTokens);
        Assert.Equal(102, last.Metrics.FirstTokenTime);
        Assert.Equal(104, last.Metrics.LastTokenTime);
        Assert.Equal(104, last.Metrics.FinishedTime);
    }

    [Fact]
    public void ProcessOutputs_LogprobsRequested_SumsTokenLogprobs()
    {
        var h = new OutputProcessorHarness("a");
        int a = h.Tokenizer.Ids("a")[0];
        h.Add("with", Cumulative with { Logprobs = 0 });
        h.Add("without", Cumulative);

        h.Step(new EngineCoreOutput("with", [a], NewTokenLogprob: -0.5), new EngineCoreOutput("without", [a], NewTokenLogprob: -0.5));
        ProcessedOutputs last = h.Step(
            new EngineCoreOutput("with", [a], RequestStatus.FinishedLengthCapped, NewTokenLogprob: -1.25),
            new EngineCoreOutput("without", [a], RequestStatus.FinishedLengthCapped, NewTokenLogprob: -1.25));

        // Exact in binary floating point: -0.5 and -1.25 are dyadic.
        Assert.Equal(-1.75, last.RequestOutputs[0].Outputs[0].CumulativeLogprob);
        Assert.Null(last.RequestOutputs[1].Outputs[0].CumulativeLogprob);
    }

    [Fact]
    public void AbortRequests_ForgetsRequestReturnsUnfinishedChildrenAndIgnoresLaterOutputs()
    {
        var h = new OutputProcessorHarness("a");
        h.Add("r", Delta, n: 2);
        h.Add("other", Delta);
        h.Step(h.Length("r-0", "a"), h.Out("r-1", "a"));

        IReadOnlyList<string> toAbort = h.Processor.AbortRequests(["r", "unknown"]);
        ProcessedOutputs late = h.Step(h.Out("r-1", "a"), h.Out("other", "a"));

        Assert.Equal(["r-1"], toAbort);
        Assert.Equal(1, h.Processor.NumUnfinishedRequests);
        Assert.Equal("other", Assert.Single(late.RequestOutputs).RequestId);
    }

    [Fact]
    public void ProcessOutputs_UnknownRequestId_IsIgnored()
    {
        var h = new OutputProcessorHarness("a");

        ProcessedOutputs processed = h.Step(h.Out("nobody", "a"));

        Assert.Empty(processed.RequestOutputs);
        Assert.Empty(processed.ChildRequestsToAbort);
    }

    [Fact]
    public void AddRequest_DuplicateId_Throws()
    {
        var h = new OutputProcessorHarness("a");
        h.Add("r", Delta);

        Assert.Throws<ArgumentException>(() => h.Add("r", Delta));
        Assert.Equal(1, h.Processor.NumUnfinishedRequests);
    }
}
