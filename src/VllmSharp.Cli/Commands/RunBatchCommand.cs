using System.CommandLine;
using Spectre.Console;
using VllmSharp.Engine;
using VllmSharp.Server.Batch;

namespace VllmSharp.Cli.Commands;

/// <summary><c>vllmsharp run-batch -i in.jsonl -o out.jsonl --model M</c>: an OpenAI batch file through the engine (vLLM's run-batch).</summary>
public static class RunBatchCommand
{
    public static Command Create()
    {
        var engine = new EngineOptions();
        var input = new Option<string>("--input-file", "-i") { Description = "Input JSONL file (OpenAI batch format).", Required = true };
        var output = new Option<string>("--output-file", "-o") { Description = "Output JSONL file.", Required = true };
        var servedName = new Option<string?>("--served-model-name") { Description = "Model name reported in responses." };

        var command = new Command("run-batch", "Run a batch of OpenAI requests from a JSONL file.");
        engine.AddTo(command);
        command.Options.Add(input);
        command.Options.Add(output);
        command.Options.Add(servedName);
        command.SetAction(async (parse, cancellationToken) =>
        {
            string inputPath = parse.GetValue(input)!;
            if (!File.Exists(inputPath)) throw new FileNotFoundException($"{inputPath}: input file not found");
            string[] lines = await File.ReadAllLinesAsync(inputPath, cancellationToken);
            TextWriter err = parse.InvocationConfiguration.Error;
            using var llm = new AsyncLLM(engine.Bind(parse), err.WriteLine);
            string name = parse.GetValue(servedName) ?? engine.Model.ResolveModel(parse) ?? "default";
            var runner = new BatchRunner(llm, name);

            await using var writer = new StreamWriter(parse.GetValue(output)!);
            IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(err) });
            (int ok, int failed) = (0, 0);
            await console.Progress().StartAsync(async ctx =>
            {
                ProgressTask task = ctx.AddTask("Running batch", maxValue: lines.Count(l => !string.IsNullOrWhiteSpace(l)));
                (ok, failed) = await runner.RunAsync(lines, writer, () => task.Increment(1), cancellationToken);
            });
            parse.InvocationConfiguration.Output.WriteLine($"{ok} succeeded, {failed} failed; results in {parse.GetValue(output)}");
            return 0;
        });
        return command;
    }
}
