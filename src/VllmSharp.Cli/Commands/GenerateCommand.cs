using System.CommandLine;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine;

namespace VllmSharp.Cli.Commands;

/// <summary>
/// <c>vllmsharp generate [MODEL] --prompt TEXT</c>: streams the completion of one prompt through the engine and
/// reports prompt and generation tokens/s. Takes every engine flag of <c>serve</c>.
/// </summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var engine = new EngineOptions();
        var prompt = new Option<string>("--prompt") { Description = "The prompt text.", DefaultValueFactory = _ => "Hello, my name is" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens to generate at most.", DefaultValueFactory = _ => 32 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature; 0 is greedy.", DefaultValueFactory = _ => 0.0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass.", DefaultValueFactory = _ => 1.0 };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (-1: all).", DefaultValueFactory = _ => -1 };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Keep generating past end-of-sequence tokens." };

        var command = new Command("generate", "Generate text for one prompt and print prompt and generation tokens/s.");
        engine.AddTo(command);
        foreach (Option option in new Option[] { prompt, maxTokens, temperature, topP, topK, ignoreEos }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var samplingParams = new SamplingParams
            {
                MaxTokens = parse.GetValue(maxTokens),
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP),
                TopK = parse.GetValue(topK),
                IgnoreEos = parse.GetValue(ignoreEos),
                Seed = parse.GetValue(engine.Model.Seed),
                OutputKind = RequestOutputKind.Delta,
            };
            try
            {
                samplingParams.Validate();
            }
            catch (Core.Errors.InvalidRequestException e)
            {
                throw new ArgumentException($"--{e.Parameter?.Replace('_', '-')}: {e.Message}", e);
            }

            using AsyncLLM llm = ModelLoading.StartEngine(engine.Bind(parse), parse);
            TextWriter output = parse.InvocationConfiguration.Output;
            string text = parse.GetValue(prompt)!;
            output.Write(text);
            RequestOutput? last = null;
            int generated = 0;
            await foreach (RequestOutput step in llm.GenerateAsync(text, samplingParams, "generate-0", cancellationToken: cancellationToken))
            {
                foreach (CompletionOutput completion in step.Outputs)
                {
                    output.Write(completion.Text);
                    generated += completion.TokenIds.Count;
                }
                output.Flush();
                last = step;
            }
            output.WriteLine();
            output.WriteLine();
            output.WriteLine(Summary(last!, generated));
            return 0;
        });
        return command;
    }

    /// <summary>Prompt tokens/s over the time to the first token; generation tokens/s over the tokens after it.</summary>
    private static string Summary(RequestOutput output, int generated)
    {
        RequestMetrics m = output.Metrics;
        double prefill = (m.FirstTokenTime ?? m.ArrivalTime) - m.ArrivalTime;
        double decode = (m.FinishedTime ?? m.LastTokenTime ?? m.ArrivalTime) - (m.FirstTokenTime ?? m.ArrivalTime);
        double promptRate = output.PromptTokenIds.Count / Math.Max(prefill, 1e-9);
        double generationRate = Math.Max(generated - 1, 0) / Math.Max(decode, 1e-9);
        return $"prompt: {output.PromptTokenIds.Count} tokens, {promptRate:F1} tokens/s | generation: {generated} tokens, {generationRate:F1} tokens/s";
    }
}
