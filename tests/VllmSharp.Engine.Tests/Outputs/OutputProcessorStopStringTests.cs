using VllmSharp.Core.Outputs;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Outputs;
using Xunit;

namespace VllmSharp.Engine.Tests.Outputs;

public sealed class OutputProcessorStopStringTests
{
    private static SamplingParams Params(RequestOutputKind kind, params string[] stop) =>
        new() { OutputKind = kind, Stop = stop };

    [Fact]
    public void ProcessOutputs_StopStringWithinOneToken_TruncatesFinishesAndAsksCoreToAbort()
    {
        var h = new OutputProcessorHarness("Hi ", "abcSTOPdef");
        h.Add("r", Params(RequestOutputKind.Cumulative, "STOP"));
        h.Step(h.Out("r", "Hi "));

        ProcessedOutputs processed = h.Step(h.Out("r", "abcSTOPdef"));

        CompletionOutput output = OutputProcessorHarness.Single(processed);
        Assert.Equal("Hi abc", output.Text);
        Assert.Equal(h.Tokenizer.Ids("Hi ", "abcSTOPdef"), output.TokenIds); // ids stay as generated
        Assert.Equal("stop", output.FinishReason);
        Assert.Equal("STOP", output.StopReason);
        Assert.True(processed.RequestOutputs[0].Finished);
        Assert.Equal(["r"], processed.ChildRequestsToAbort);
        Assert.Equal(0, h.Processor.NumUnfinishedRequests);
    }

    [Fact]
    public void ProcessOutputs_StopStringSpanningTokens_TruncatesBeforeIt()
    {
        var h = new OutputProcessorHarness("Hello", " S", "T", "OP", " tail");
        h.Add("r", Params(RequestOutputKind.Cumulative, "STOP"));

        h.Step(h.Out("r", "Hello", " S"));
        ProcessedOutputs s2 = h.Step(h.Out("r", "T"));
        ProcessedOutputs s3 = h.Step(h.Out("r", "OP", " tail"));

        Assert.Null(OutputProcessorHarness.Single(s2).FinishReason);
        CompletionOutput output = OutputProcessorHarness.Single(s3);
        Assert.Equal("Hello ", output.Text);
        Assert.Equal("STOP", output.StopReason);
        Assert.Equal(["r"], s3.ChildRequestsToAbort);
    }

    [Fact]
    public void ProcessOutputs_StopStringAtVeryStart_GivesEmptyText()
    {
        var h = new OutputProcessorHarness("STOP", "more");
        h.Add("r", Params(RequestOutputKind.Delta, "STOP"));

        CompletionOutput output = OutputProcessorHarness.Single(h.Step(h.Out("r", "STOP", "more")));

        Assert.Equal("", output.Text);
        Assert.Equal(("stop", (object)"STOP"), (output.FinishReason, output.StopReason));
    }

    [Fact]
    public void ProcessOutputs_TwoStopStrings_EarliestMatchWinsWhateverTheListOrder()
    {
        var h = new OutputProcessorHarness("xabcdefx");
        h.Add("r", Params(RequestOutputKind.Cumulative, "def", "bc"));

        CompletionOutput output = OutputProcessorHarness.Single(h.Step(h.Out("r", "xabcdefx")));

        Assert.Equal("xa", output.Text);
        Assert.Equal("bc", output.StopReason);
    }

    [Fact]
    public void ProcessOutputs_IncludeStopStrInOutput_KeepsTheStopString()
    {
        var h = new OutputProcessorHarness("ab", "cSTO", "Pdef");
        h.Add("r", Params(RequestOutputKind.Delta, "STOP") with { IncludeStopStrInOutput = true });

        // No holdback when the stop string is part of the output: everything streams at once.
        CompletionOutput s1 = OutputProcessorHarness.Single(h.Step(h.Out("r", "ab", "cSTO")));
        CompletionOutput s2 = OutputProcessorHarness.Single(h.Step(h.Out("r", "Pdef")));

        Assert.Equal("abcSTO", s1.Text);
        Assert.Equal("P", s2.Text);
        Assert.Equal("STOP", s2.StopReason);
    }

    [Fact]
    public void ProcessOutputs_Holdback_NeverStreamsAPrefixOfTheStopStringAndReleasesItAtLengthFinish()
    {
        var h = new OutputProcessorHarness("Hi", " S", "T", "O", "x", "y");
        h.Add("r", Params(RequestOutputKind.Delta, "STOP"));

        string[] deltas =
        [
            OutputProcessorHarness.Single(h.Step(h.Out("r", "Hi"))).Text,
            OutputProcessorHarness.Single(h.Step(h.Out("r", " S"))).Text,
            OutputProcessorHarness.Single(h.Step(h.Out("r", "T"))).Text,
            OutputProcessorHarness.Single(h.Step(h.Out("r", "O"))).Text,
            OutputProcessorHarness.Single(h.Step(h.Out("r", "x"))).Text,
        ];
        CompletionOutput last = OutputProcessorHarness.Single(h.Step(h.Length("r", "y")));

        // Holdback is len("STOP") - 1 = 3 characters of the text so far.
        Assert.Equal(["", "H", "i", " ", "S"], deltas);
        Assert.Equal("TOxy", last.Text);
        Assert.Equal("length", last.FinishReason);
        Assert.Equal("Hi STOxy", string.Concat(deltas) + last.Text);
    }

    [Fact]
    public void ProcessOutputs_HoldbackCumulative_HidesTailUntilFinished()
    {
        var h = new OutputProcessorHarness("Hello", " wo", "rld");
        h.Add("r", Params(RequestOutputKind.Cumulative, "END", "STOP"));

        CompletionOutput s1 = OutputProcessorHarness.Single(h.Step(h.Out("r", "Hello")));
        CompletionOutput s2 = OutputProcessorHarness.Single(h.Step(h.Out("r", " wo")));
        CompletionOutput s3 = OutputProcessorHarness.Single(h.Step(h.Length("r", "rld")));

        Assert.Equal("He", s1.Text);
        Assert.Equal("Hello", s2.Text);
        Assert.Equal("Hello world", s3.Text);
    }

    [Fact]
    public void ProcessOutputs_HoldbackThenStopString_DeltasConcatenateToTruncatedText()
    {
        var h = new OutputProcessorHarness("The", " end", " ST", "OP", "!");
        h.Add("r", Params(RequestOutputKind.Delta, "STOP"));

        var streamed = new List<string>();
        foreach (string piece in new[] { "The", " end", " ST" })
        {
            streamed.Add(OutputProcessorHarness.Single(h.Step(h.Out("r", piece))).Text);
        }

        CompletionOutput last = OutputProcessorHarness.Single(h.Step(h.Out("r", "OP", "!")));

        foreach (string delta in streamed)
        {
            Assert.DoesNotContain("S", delta);
        }

        Assert.Equal("The end ", string.Concat(streamed) + last.Text);
        Assert.Equal("STOP", last.StopReason);
    }

    [Fact]
    public void ProcessOutputs_StopStringWhenCoreFinishedTheSameStep_StopWinsAndNothingToAbort()
    {
        var h = new OutputProcessorHarness("abSTOP");
        h.Add("r", Params(RequestOutputKind.Cumulative, "STOP"));

        ProcessedOutputs processed = h.Step(h.Length("r", "abSTOP"));

        CompletionOutput output = OutputProcessorHarness.Single(processed);
        Assert.Equal(("ab", "stop", (object?)"STOP"), (output.Text, output.FinishReason, output.StopReason));
        Assert.Empty(processed.ChildRequestsToAbort); // the core already finished it
    }

    [Fact]
    public void ProcessOutputs_OutputsAfterStopStringFinish_AreIgnored()
    {
        var h = new OutputProcessorHarness("STOP", "late");
        h.Add("r", Params(RequestOutputKind.Delta, "STOP"), n: 2);
        h.Step(h.Out("r-0", "STOP"), h.Out("r-1", "late"));

        // The core has not seen the abort yet and reports r-0 again, then its abort.
        ProcessedOutputs racing = h.Step(
            h.Out("r-0", "late"),
            new EngineCoreOutput("r-0", [], RequestStatus.FinishedAborted),
            h.Out("r-1", "late"));

        CompletionOutput only = OutputProcessorHarness.Single(racing);
        Assert.Equal(1, only.Index);
        Assert.Empty(racing.ChildRequestsToAbort);
    }

    [Fact]
    public void ProcessOutputs_MinTokens_StopStringInFirstTokensDoesNotStop()
    {
        var h = new OutputProcessorHarness("STOP", "a", "STOP!");
        h.Add("r", Params(RequestOutputKind.Cumulative, "STOP") with { MinTokens = 2 });

        CompletionOutput s1 = OutputProcessorHarness.Single(h.Step(h.Out("r", "STOP", "a")));
        CompletionOutput s2 = OutputProcessorHarness.Single(h.Step(h.Out("r", "STOP!")));

        Assert.Null(s1.FinishReason);
        Assert.Equal("STOPa", s2.Text);
        Assert.Equal("STOP", s2.StopReason);
    }

    [Fact]
    public void ProcessOutputs_MinTokensBoundaryInsideOneStep_OnlyTextAfterItIsSearched()
    {
        var h = new OutputProcessorHarness("STOP", "a", "b");
        h.Add("r", Params(RequestOutputKind.Cumulative, "STOP") with { MinTokens = 1 });

        // Speculative decoding can deliver several tokens at once; the first is still under min_tokens.
        CompletionOutput s1 = OutputProcessorHarness.Single(h.Step(h.Out("r", "STOP", "a")));
        CompletionOutput s2 = OutputProcessorHarness.Single(h.Step(h.Length("r", "b")));

        Assert.Null(s1.FinishReason);
        Assert.Equal(("STOPab", "length"), (s2.Text, s2.FinishReason));
    }
}
