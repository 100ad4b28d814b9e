using System.Text;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Outputs;
using VllmSharp.Engine.Tokenization;
using Xunit;

namespace VllmSharp.Engine.Tests.Outputs;

/// <summary>
/// Streaming invariants on seeded random token streams, checked against a naive reference that
/// re-decodes the whole sequence every step and searches it for stop strings from the start
/// (O(n²), but obviously right): the final text matches, streamed text is always a prefix of it,
/// deltas concatenate to it, and nothing that could still become a stop string is streamed early.
/// </summary>
public sealed class OutputProcessorStreamingPropertyTests
{
    private static readonly string[] Pieces = ["a", "b", "c", "ab", " ", "S", "T", "ST", "OP", "TOP", "STOP", "é", "\U0001F600", "x\n"];
    private static readonly string[] StopCandidates = ["STOP", "ab", "b c", "\U0001F600a", "OPé", "T"];

    [Fact]
    public void ProcessOutputs_RandomStreams_MatchNaiveReferenceAndNeverStreamAheadOfIt()
    {
        var random = new Random(20260125);
        for (int trial = 0; trial < 300; trial++)
        {
            RunTrial(random, trial);
        }
    }

    [Fact]
    public void ProcessOutputs_RealTokenizerWithMultiByteText_DeltasEqualDecodeOfAllTokens()
    {
        HfTokenizer tokenizer = BuiltinTokenizer.Load();
        const string text = "Grüße, 你好世界 🌍🚀 naïve café — done";
        int[] ids = [.. tokenizer.Encode(text, addSpecialTokens: false)];
        var processor = new OutputProcessor(tokenizer);
        processor.AddRequest("r", null, tokenizer.Encode("Say:", addSpecialTokens: false), new SamplingParams { OutputKind = RequestOutputKind.Delta }, 0, ["r"]);

        var streamed = new StringBuilder();
        for (int i = 0; i < ids.Length; i++)
        {
            RequestStatus? finish = i == ids.Length - 1 ? RequestStatus.FinishedLengthCapped : null;
            foreach (RequestOutput output in processor.ProcessOutputs([new EngineCoreOutput("r", [ids[i]], finish)], i).RequestOutputs)
            {
                string delta = output.Outputs[0].Text;
                Assert.DoesNotContain('\uFFFD', delta); // byte-level tokens split characters; none may leak half-decoded
                streamed.Append(delta);
            }
        }

        Assert.Equal(tokenizer.Decode(ids), streamed.ToString());
        Assert.Equal(text, streamed.ToString());
    }

    [Fact]
    public void ProcessOutputs_RealTokenizerStopString_TruncatesWhereDecodedTextHasIt()
    {
        HfTokenizer tokenizer = BuiltinTokenizer.Load();
        int[] ids = [.. tokenizer.Encode("The answer is 42.\nEND of the story, and more.", addSpecialTokens: false)];
        var processor = new OutputProcessor(tokenizer);
        var samplingParams = new SamplingParams { OutputKind = RequestOutputKind.Delta, Stop = ["\nEND"] };
        processor.AddRequest("r", "q", [], samplingParams, 0, ["r"]);

        var streamed = new StringBuilder();
        List<string> aborted = [];
        for (int i = 0; i < ids.Length && processor.NumUnfinishedRequests > 0; i++)
        {
            ProcessedOutputs processed = processor.ProcessOutputs([new EngineCoreOutput("r", [ids[i]])], i);
            aborted.AddRange(processed.ChildRequestsToAbort);
            foreach (RequestOutput output in processed.RequestOutputs)
            {
                streamed.Append(output.Outputs[0].Text);
            }
        }

        string decoded = tokenizer.Decode(ids);
        Assert.Equal(decoded[..decoded.IndexOf("\nEND", StringComparison.Ordinal)], streamed.ToString());
        Assert.Equal(["r"], aborted);
    }

    private static void RunTrial(Random random, int trial)
    {
        var tokenizer = new FakeTokenizer(Pieces);
        string[] stops = PickStops(random);
        bool include = random.Next(2) == 0;
        RequestOutputKind kind = random.Next(2) == 0 ? RequestOutputKind.Delta : RequestOutputKind.Cumulative;
        var samplingParams = new SamplingParams { OutputKind = kind, Stop = stops, IncludeStopStrInOutput = include };
        var processor = new OutputProcessor(tokenizer);
        processor.AddRequest("r", null, [], samplingParams, 0, ["r"]);
        int maxStop = 0;
        foreach (string stop in stops)
        {
            maxStop = Math.Max(maxStop, stop.Length);
        }

        var fed = new List<int>();
        var streamed = new StringBuilder();
        var streamedTokens = new List<int>();
        string context = $"trial {trial}, stops [{string.Join("|", stops)}], include {include}, {kind}";
        int steps = random.Next(1, 14);
        for (int step = 0; step < steps; step++)
        {
            bool lastStep = step == steps - 1;
            int[] tokens = new int[random.Next(lastStep ? 1 : 0, 4)];
            for (int t = 0; t < tokens.Length; t++)
            {
                tokens[t] = 1 + random.Next(Pieces.Length);
            }

            fed.AddRange(tokens);
            ProcessedOutputs processed = processor.ProcessOutputs(
                [new EngineCoreOutput("r", tokens, lastStep ? RequestStatus.FinishedLengthCapped : null)], step);

            // Naive reference: decode everything, take the earliest stop string anywhere in it.
            string full = tokenizer.Decode(fed.ToArray());
            (int at, string? stopFound) = EarliestStop(full, stops);
            bool finished = lastStep || at >= 0;
            string expectedFinal = at < 0 ? full : full[..(include ? at + stopFound!.Length : at)];

            CompletionOutput? output = processed.RequestOutputs.Count == 0 ? null : Assert.Single(processed.RequestOutputs[0].Outputs);
            if (output is not null)
            {
                AssertNoSplitSurrogate(output.Text, context);
                if (kind == RequestOutputKind.Delta)
                {
                    streamed.Append(output.Text);
                    streamedTokens.AddRange(output.TokenIds);
                }
                else
                {
                    streamed.Clear().Append(output.Text);
                    streamedTokens.Clear();
                    streamedTokens.AddRange(output.TokenIds);
                }
            }

            string soFar = streamed.ToString();
            if (!finished)
            {
                // Everything streamed must survive into the final text whatever comes next, so it may
                // not reach into the last (maxStop - 1) characters while they could start a stop string.
                Assert.True(full.StartsWith(soFar, StringComparison.Ordinal), context);
                int allowed = include ? full.Length : full.Length - Math.Max(0, maxStop - 1);
                Assert.True(soFar.Length <= Math.Max(0, allowed), $"{context}: streamed '{soFar}' of '{full}'");
                Assert.Empty(processed.ChildRequestsToAbort);
                continue;
            }

            Assert.Equal(expectedFinal, soFar);
            Assert.Equal(fed, streamedTokens);
            Assert.NotNull(output);
            Assert.Equal(at >= 0 ? "stop" : "length", output.FinishReason);
            Assert.Equal(stopFound, output.StopReason);
            Assert.Equal(at >= 0 && !lastStep ? ["r"] : [], processed.ChildRequestsToAbort);
            Assert.Equal(0, processor.NumUnfinishedRequests);
            return;
        }
    }

    private static string[] PickStops(Random random)
    {
        int count = random.Next(1, 3);
        var stops = new List<string>();
        while (stops.Count < count)
        {
            string stop = StopCandidates[random.Next(StopCandidates.Length)];
            if (!stops.Contains(stop))
            {
                stops.Add(stop);
            }
        }

        return [.. stops];
    }

    private static (int At, string? Stop) EarliestStop(string text, string[] stops)
    {
        int best = -1;
        string? found = null;
        foreach (string stop in stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (best < 0 || at < best))
            {
                (best, found) = (at, stop);
            }
        }

        return (best, found);
    }

    private static void AssertNoSplitSurrogate(string text, string context)
    {
        if (text.Length == 0)
        {
            return;
        }

        Assert.False(char.IsLowSurrogate(text[0]), context);
        Assert.False(char.IsHighSurrogate(text[^1]), context);
    }
}
