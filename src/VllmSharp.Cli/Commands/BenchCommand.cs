using System.CommandLine;

namespace VllmSharp.Cli.Commands;

/// <summary><c>vllmsharp bench</c>: benchmark verbs as in <c>vllm bench</c>.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Benchmarks (as vllm bench).");
        command.Subcommands.Add(BenchLatencyCommand.Create());
        command.Subcommands.Add(BenchThroughputCommand.Create());
        command.Subcommands.Add(BenchServeCommand.Create());
        return command;
    }
}
