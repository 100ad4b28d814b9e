using System.CommandLine;
using System.Diagnostics;
using VllmSharp.Kernels;
using VllmSharp.Runtime;
using VllmSharp.Runtime.Models;

namespace VllmSharp.Cli.Commands;

/// <summary>
/// <c>vllmsharp bench latency</c>, after <c>vllm bench latency</c>: times a prefill of <c>--input-len</c> tokens and
/// <c>--output-len</c> decode steps for <c>--batch-size</c> sequences on random token ids, and prints prefill and
/// decode tokens/s. With <c>--measure-limits</c> it also measures the machine's read bandwidth and FMA peak in the
/// same run and prints each result as a fraction of its limit.
/// </summary>
public static class BenchLatencyCommand
{
    private const int BlockSize = 16;

    public static Command Create()
    {
        var model = new ModelOptions();
        var inputLen = new Option<int>("--input-len") { Description = "Prompt tokens per sequence.", DefaultValueFactory = _ => 512 };
        var outputLen = new Option<int>("--output-len") { Description = "Decode steps.", DefaultValueFactory = _ => 128 };
        var batchSize = new Option<int>("--batch-size") { Description = "Sequences run together.", DefaultValueFactory = _ => 1 };
        var iters = new Option<int>("--num-iters") { Description = "Timed repetitions (the best is reported).", DefaultValueFactory = _ => 3 };
        var warmup = new Option<int>("--num-iters-warmup") { Description = "Untimed repetitions first.", DefaultValueFactory = _ => 1 };
        var limits = new Option<bool>("--measure-limits") { Description = "Also measure memory bandwidth and FMA peak and print fractions." };

        var command = new Command("latency", "Measure prefill and decode speed of one batch.");
        model.AddTo(command);
        foreach (Option option in new Option[] { inputLen, outputLen, batchSize, iters, warmup, limits }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            int prompt = parse.GetValue(inputLen), steps = parse.GetValue(outputLen), batch = parse.GetValue(batchSize);
            if (prompt < 1 || steps < 1 || batch < 1) throw new ArgumentException("--input-len, --output-len and --batch-size must be at least 1.");
            using LoadedModel loaded = ModelLoading.Load(model, parse);
            TextWriter output = parse.InvocationConfiguration.Output;
            var run = new LatencyRun(loaded.Model, prompt, steps, batch);
            // This machine's bandwidth drifts with its neighbours: measure the limits before and after the timed
            // runs and divide by the higher reading, so a fraction is never flattered by a slow moment.
            (double Bandwidth, double Peak) limitsBefore = parse.GetValue(limits) ? MeasureLimits() : default;
            for (int i = 0; i < parse.GetValue(warmup); i++) run.Run();
            (double prefill, double decode) best = (double.MaxValue, double.MaxValue);
            for (int i = 0; i < Math.Max(1, parse.GetValue(iters)); i++)
            {
                (double prefill, double decode) = run.Run();
                best = (Math.Min(best.prefill, prefill), Math.Min(best.decode, decode));
            }
            (double Bandwidth, double Peak)? measured = null;
            if (parse.GetValue(limits))
            {
                (double bandwidth, double peak) = MeasureLimits();
                measured = (Math.Max(bandwidth, limitsBefore.Bandwidth), Math.Max(peak, limitsBefore.Peak));
            }
            Report(output, loaded.Model, prompt, steps, batch, best.prefill, best.decode, measured);
            return 0;
        });
        return command;
    }

    private static (double Bandwidth, double Peak) MeasureLimits()
        => (MachineLimits.MeasureReadBandwidthGBs(WorkerPool.Shared.ThreadCount), MachineLimits.MeasureFmaPeakGflops(WorkerPool.Shared.ThreadCount));

    private static void Report(TextWriter output, ICausalLM model, int prompt, int steps, int batch, double prefillSeconds, double decodeSeconds,
        (double Bandwidth, double Peak)? limits)
    {
        double prefillRate = prompt * batch / prefillSeconds;
        double decodeRate = steps * batch / decodeSeconds;
        double secondsPerStep = decodeSeconds / steps;
        double gbPerSecond = model.WeightBytesPerToken / secondsPerStep / 1e9;
        // Every prompt token goes through the layers; only each sequence's last one through the LM head.
        double prefillFlops = 2.0 * ((model.MatMulParametersPerToken - model.LmHeadParameters) * prompt + model.LmHeadParameters) * batch;
        double gflops = prefillFlops / prefillSeconds / 1e9;
        output.WriteLine($"model: {model.Config.Architecture}, {model.DType}, {model.WeightBytesPerToken / 1e6:F0} MB of weights read per step, {WorkerPool.Shared.ThreadCount} threads");
        output.WriteLine($"prefill: {prompt} × {batch} tokens in {prefillSeconds * 1e3:F1} ms = {prefillRate:F1} tokens/s ({gflops:F1} GFLOP/s in matmuls)");
        output.WriteLine($"decode:  {steps} steps × {batch} in {decodeSeconds * 1e3:F1} ms = {decodeRate:F1} tokens/s ({secondsPerStep * 1e3:F2} ms/step, {gbPerSecond:F1} GB/s of weights)");
        if (limits is not (double bandwidth, double peak)) return;
        output.WriteLine($"limits:  read bandwidth {bandwidth:F1} GB/s, FMA peak {peak:F1} GFLOP/s (f32; higher of the readings before and after)");
        output.WriteLine($"decode:  {gbPerSecond / bandwidth:P1} of measured bandwidth");
        output.WriteLine($"prefill: {gflops / peak:P1} of measured FMA peak");
    }

    /// <summary>Preallocated state for timing one prefill + decode round; each sequence owns its own blocks.</summary>
    private sealed class LatencyRun
    {
        private readonly ICausalLM _model;
        private readonly int _prompt, _steps, _batchSize, _blocksPerSeq;
        private readonly KVCacheTensors _cache;
        private readonly ForwardBatch _batch;
        private readonly int[][] _tokens;
        private readonly int[][] _blockTables;

        public LatencyRun(ICausalLM model, int prompt, int steps, int batchSize)
        {
            (_model, _prompt, _steps, _batchSize) = (model, prompt, steps, batchSize);
            _blocksPerSeq = (prompt + steps + BlockSize - 1) / BlockSize;
            _cache = new KVCacheTensors(model.NumLayers, _blocksPerSeq * batchSize, BlockSize, model.NumKvHeads, model.HeadDim);
            _batch = new ForwardBatch(prompt * batchSize, batchSize, _blocksPerSeq);
            var random = new Random(0);
            _tokens = new int[batchSize][];
            _blockTables = new int[batchSize][];
            for (int s = 0; s < batchSize; s++)
            {
                _blockTables[s] = new int[_blocksPerSeq];
                for (int b = 0; b < _blocksPerSeq; b++) _blockTables[s][b] = s * _blocksPerSeq + b;
                _tokens[s] = new int[prompt + steps];
                for (int i = 0; i < _tokens[s].Length; i++) _tokens[s][i] = random.Next(model.VocabSize);
            }
        }

        public (double PrefillSeconds, double DecodeSeconds) Run()
        {
            var clock = Stopwatch.StartNew();
            Step(start: 0, count: _prompt);
            double prefill = clock.Elapsed.TotalSeconds;
            for (int i = 0; i < _steps; i++) Step(start: _prompt + i, count: 1);
            return (prefill, clock.Elapsed.TotalSeconds - prefill);
        }

        private void Step(int start, int count)
        {
            _batch.Clear();
            for (int s = 0; s < _batchSize; s++)
                _batch.AddSequence(_tokens[s].AsSpan(start, count), start, _blockTables[s], BlockSize, computeLogits: true);
            _model.Forward(_batch, _cache);
        }
    }
}
