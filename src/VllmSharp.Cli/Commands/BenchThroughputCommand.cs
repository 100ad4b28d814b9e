using System.CommandLine;
using System.Diagnostics;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine;
using VllmSharp.Engine.Core;
using VllmSharp.Kernels;

namespace VllmSharp.Cli.Commands;

/// <summary>
/// <c>vllmsharp bench throughput</c>, after <c>vllm bench throughput</c>: runs <c>--num-prompts</c> random prompts of
/// <c>--input-len</c> tokens, each generating exactly <c>--output-len</c> tokens, through the offline engine at once
/// (continuous batching) and prints requests/s and total/output tokens/s.
/// </summary>
public static class BenchThroughputCommand
{
    public static Command Create()
    {
        var engine = new EngineOptions();
        var inputLen = new Option<int>("--input-len") { Description = "Prompt tokens per request.", DefaultValueFactory = _ => 256 };
        var outputLen = new Option<int>("--output-len") { Description = "Output tokens per request.", DefaultValueFactory = _ => 128 };
        var numPrompts = new Option<int>("--num-prompts") { Description = "Requests to run.", DefaultValueFactory = _ => 32 };
        var limits = new Option<bool>("--measure-limits") { Description = "Also measure the FMA peak and print the fraction of the compute-bound rate." };

        var command = new Command("throughput", "Measure offline throughput over a batch of random requests.");
        engine.AddTo(command);
        foreach (Option option in new Option[] { inputLen, outputLen, numPrompts, limits }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            int input = parse.GetValue(inputLen), output = parse.GetValue(outputLen), prompts = parse.GetValue(numPrompts);
            if (input < 1 || output < 1 || prompts < 1) throw new ArgumentException("--input-len, --output-len and --num-prompts must be at least 1.");
            TextWriter err = parse.InvocationConfiguration.Error, stdout = parse.InvocationConfiguration.Output;
            using var llm = new LLM(engine.Bind(parse), err.WriteLine);
            var random = new Random(0);
            var batch = Enumerable.Range(0, prompts)
                .Select(_ => PromptInput.FromTokens(Enumerable.Range(0, input).Select(_ => random.Next(llm.Tokenizer.VocabSize)).ToArray()))
                .ToList();
            var sampling = new SamplingParams { Temperature = 1.0, TopP = 1.0, MaxTokens = output, IgnoreEos = true, Detokenize = false };

            llm.Generate([batch[0]], [sampling with { MaxTokens = 2 }], useProgressBar: false); // warm up the JIT and the kernels
            var clock = Stopwatch.StartNew();
            IReadOnlyList<RequestOutput> results = llm.Generate(batch, [sampling], useProgressBar: true);
            double seconds = clock.Elapsed.TotalSeconds;
            long outTokens = results.Sum(r => (long)r.Outputs[0].TokenIds.Count);
            long totalTokens = outTokens + results.Sum(r => (long)r.PromptTokenIds.Count);
            stdout.WriteLine($"Throughput: {prompts / seconds:F2} requests/s, {totalTokens / seconds:F2} total tokens/s, {outTokens / seconds:F2} output tokens/s");
            stdout.WriteLine($"({prompts} requests × {input} input + {output} output tokens in {seconds:F1} s)");
            if (parse.GetValue(limits))
            {
                double peak = MachineLimits.MeasureFmaPeakGflops(WorkerPool.Shared.ThreadCount);
                double flopsPerToken = 2.0 * llm.MatMulParametersPerToken;
                double computeBound = peak * 1e9 / flopsPerToken;
                stdout.WriteLine($"FMA peak {peak:F1} GFLOP/s → compute-bound rate {computeBound:F1} tokens/s (2 × {llm.MatMulParametersPerToken / 1e6:F0} M parameters per token)");
                stdout.WriteLine($"output tokens/s = {outTokens / seconds / computeBound:P1} of that; total tokens/s = {totalTokens / seconds / computeBound:P1}");
            }
            return 0;
        });
        return command;
    }
}
