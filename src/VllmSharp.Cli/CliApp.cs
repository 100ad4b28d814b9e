using System.CommandLine;
using VllmSharp.Cli.Commands;

namespace VllmSharp.Cli;

/// <summary>The <c>vllmsharp</c> command: verbs and flags follow vLLM's CLI.</summary>
public static class CliApp
{
    /// <summary>Shows stack traces of failures (otherwise one clear line and a non-zero exit code).</summary>
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Print stack traces on errors.", Recursive = true };

    public static RootCommand Build()
    {
        var root = new RootCommand("VllmSharp: a high-throughput LLM inference and serving engine for .NET, modelled on vLLM.");
        root.Options.Add(Verbose);
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(CreateModelCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(RunBatchCommand.Create());
        return root;
    }

    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        ParseResult parse = Build().Parse(args);
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        if (output is not null) config.Output = output;
        if (error is not null) config.Error = error;
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception e)
        {
            TextWriter err = error ?? Console.Error;
            err.WriteLine($"error: {CliErrors.Describe(e)}");
            if (parse.GetValue(Verbose)) err.WriteLine(e);
            return 1;
        }
    }
}
