using System.CommandLine;
using VllmSharp.Engine.Generation;

namespace VllmSharp.Cli.Commands;

/// <summary><c>vllmsharp generate [MODEL] --prompt TEXT</c>: generates text for one prompt and reports tokens/s.</summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var prompt = new Option<string>("--prompt") { Description = "The prompt text.", DefaultValueFactory = _ => "Hello, my name is" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens to generate at most.", DefaultValueFactory = _ => 32 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature; 0 is greedy.", DefaultValueFactory = _ => 0.0 };

        var command = new Command("generate", "Generate text for one prompt and print prompt and generation tokens/s.");
        model.AddTo(command);
        command.Options.Add(prompt);
        command.Options.Add(maxTokens);
        command.Options.Add(temperature);
        command.SetAction(parse =>
        {
            int max = parse.GetValue(maxTokens);
            double temp = parse.GetValue(temperature);
            if (max < 1) throw new ArgumentException($"--max-tokens must be at least 1, got {max}.");
            if (temp < 0) throw new ArgumentException($"--temperature must be non-negative, got {temp}.");

            using LoadedModel loaded = ModelLoading.Load(model, parse);
            TextWriter output = parse.InvocationConfiguration.Output;
            string text = parse.GetValue(prompt)!;
            output.Write(text);
            var generator = new SingleSequenceGenerator(loaded.Model, loaded.Tokenizer);
            GenerationStats stats = generator.Generate(text, max, temp, parse.GetValue(model.Seed), piece =>
            {
                output.Write(piece);
                output.Flush();
            });
            output.WriteLine();
            output.WriteLine();
            output.WriteLine($"prompt: {stats.PromptTokens} tokens, {stats.PromptTokensPerSecond:F1} tokens/s | "
                           + $"generation: {stats.GeneratedTokens} tokens, {stats.GenerationTokensPerSecond:F1} tokens/s");
            return 0;
        });
        return command;
    }
}
