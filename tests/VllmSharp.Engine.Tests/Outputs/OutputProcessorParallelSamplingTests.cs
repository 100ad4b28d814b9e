using VllmSharp.Core.Outputs;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Outputs;
using Xunit;

namespace VllmSharp.Engine.Tests.Outputs;

/// <summary>n &gt; 1: three child requests aggregated into one RequestOutput per step.</summary>
public sealed class OutputProcessorParallelSamplingTests
{
    private static SamplingParams Params(RequestOutputKind kind) => new() { N = 3, OutputKind = kind };

    [Fact]
    public void ProcessOutputs_ChildrenInAnyOrder_OneRequestOutputOrderedByIndex()
    {
        var h = new OutputProcessorHarness("a", "b", "c");
        h.Add("r", Params(RequestOutputKind.Delta), n: 3);

        ProcessedOutputs processed = h.Step(h.Out("r-2", "c"), h.Out("r-0", "a"), h.Out("r-1", "b"));

        RequestOutput output = Assert.Single(processed.RequestOutputs);
        Assert.Equal("r", output.RequestId);
        Assert.False(output.Finished);
        Assert.Equal([0, 1, 2], output.Outputs.Select(o => o.Index));
        Assert.Equal(["a", "b", "c"], output.Outputs.Select(o => o.Text));
    }

    [Fact]
    public void ProcessOutputs_DeltaPartialFinishes_FinishedChildReportedOnceAndRequestFinishesWithLast()
    {
        var h = new OutputProcessorHarness("a", "b", "c");
        h.Add("r", Params(RequestOutputKind.Delta), n: 3);

        RequestOutput s1 = h.Step(h.Out("r-0", "a"), h.Length("r-1", "b"), h.Out("r-2", "c")).RequestOutputs[0];
        RequestOutput s2 = h.Step(h.Out("r-0", "a"), h.Out("r-2", "c")).RequestOutputs[0];
        RequestOutput s3 = h.Step(
            new EngineCoreOutput("r-0", [FakeTokenizer.Eos], RequestStatus.FinishedStopped),
            h.Out("r-2", "c")).RequestOutputs[0];
        ProcessedOutputs s4 = h.Step(h.Length("r-2", "a"));

        Assert.Equal("length", s1.Outputs[1].FinishReason);
        Assert.False(s1.Finished);
        Assert.Equal([0, 2], s2.Outputs.Select(o => o.Index));
        Assert.Equal(("", "stop"), (s3.Outputs[0].Text, s3.Outputs[0].FinishReason));
        Assert.False(s3.Finished);
        RequestOutput last = Assert.Single(s4.RequestOutputs);
        Assert.True(last.Finished);
        CompletionOutput only = Assert.Single(last.Outputs);
        Assert.Equal((2, "a", "length"), (only.Index, only.Text, only.FinishReason));
        Assert.Equal(0, h.Processor.NumUnfinishedRequests);
    }

    [Fact]
    public void ProcessOutputs_Cumulative_AlwaysReportsAllChildrenIncludingFinishedOnes()
    {
        var h = new OutputProcessorHarness("a", "b");
        h.Add("r", Params(RequestOutputKind.Cumulative), n: 3);

        h.Step(h.Out("r-0", "a"), h.Length("r-1", "b"), h.Out("r-2", "a"));
        RequestOutput s2 = h.Step(h.Out("r-0", "b"), h.Out("r-2", "b")).RequestOutputs[0];

        Assert.Equal([0, 1, 2], s2.Outputs.Select(o => o.Index));
        Assert.Equal(["ab", "b", "ab"], s2.Outputs.Select(o => o.Text));
        Assert.Equal([null, "length", null], s2.Outputs.Select(o => o.FinishReason));
        Assert.False(s2.Finished);
    }

    [Fact]
    public void ProcessOutputs_FinalOnly_OneOutputWithAllCompletionsWhenTheLastChildFinishes()
    {
        var h = new OutputProcessorHarness("a", "b", "c");
        h.Add("r", Params(RequestOutputKind.FinalOnly), n: 3);

        ProcessedOutputs s1 = h.Step(h.Length("r-1", "b"), h.Out("r-0", "a"), h.Out("r-2", "c"));
        ProcessedOutputs s2 = h.Step(h.Length("r-0", "a"), h.Out("r-2", "c"));
        ProcessedOutputs s3 = h.Step(h.Length("r-2", "c"));

        Assert.Empty(s1.RequestOutputs);
        Assert.Empty(s2.RequestOutputs);
        RequestOutput final = Assert.Single(s3.RequestOutputs);
        Assert.True(final.Finished);
        Assert.Equal(["aa", "b", "ccc"], final.Outputs.Select(o => o.Text));
        Assert.All(final.Outputs, o => Assert.Equal("length", o.FinishReason));
    }

    [Fact]
    public void ProcessOutputs_StopStringInOneChild_AbortsOnlyThatChild()
    {
        var h = new OutputProcessorHarness("go", "STOP");
        h.Add("r", Params(RequestOutputKind.Delta) with { Stop = ["STOP"] }, n: 3);

        ProcessedOutputs processed = h.Step(h.Out("r-0", "go"), h.Out("r-1", "STOP"), h.Out("r-2", "go"));

        Assert.Equal(["r-1"], processed.ChildRequestsToAbort);
        RequestOutput output = Assert.Single(processed.RequestOutputs);
        Assert.False(output.Finished);
        Assert.Equal("STOP", output.Outputs[1].StopReason);
        Assert.Equal(1, h.Processor.NumUnfinishedRequests);
    }

    [Fact]
    public void ProcessOutputs_TwoRequestsInOneStep_OutputsInOrderOfFirstAppearance()
    {
        var h = new OutputProcessorHarness("a");
        h.Add("x", Params(RequestOutputKind.Delta), n: 3);
        h.Add("y", new SamplingParams { OutputKind = RequestOutputKind.Delta });

        ProcessedOutputs processed = h.Step(h.Out("x-1", "a"), h.Out("y", "a"), h.Out("x-0", "a"));

        Assert.Equal(["x", "y"], processed.RequestOutputs.Select(o => o.RequestId));
        Assert.Equal([0, 1], processed.RequestOutputs[0].Outputs.Select(o => o.Index));
    }
}
