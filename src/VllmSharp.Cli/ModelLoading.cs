using System.CommandLine;
using Spectre.Console;
using VllmSharp.Core.Config;
using VllmSharp.Engine;
using VllmSharp.Engine.Core;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime.Models;

namespace VllmSharp.Cli;

/// <summary>Resolves the MODEL argument (the default model when absent) and loads it with a progress display on stderr.</summary>
public static class ModelLoading
{
    /// <summary>Loads the bare model and tokenizer (for benchmarks that drive the model runner API directly).</summary>
    public static LoadedModel Load(ModelOptions options, ParseResult parse)
    {
        string? requested = options.ResolveModel(parse);
        string dtype = parse.GetValue(options.DType)!;
        string loadFormat = parse.GetValue(options.LoadFormat)!;
        ulong seed = (ulong)parse.GetValue(options.Seed);
        LoadedModel loaded = WithStatus(parse, status =>
        {
            string dir = requested is null ? DefaultModel.EnsureCreated(status) : Path.GetFullPath(requested);
            status($"Loading tokenizer from {dir}");
            ITokenizer tokenizer = EngineFactory.LoadTokenizer(dir, loadFormat);
            status($"Loading weights from {dir}");
            return new LoadedModel(dir, ModelLoader.Load(dir, dtype, loadFormat, seed), tokenizer);
        }, out _);
        parse.InvocationConfiguration.Error.WriteLine(
            $"Loaded {loaded.Model.Config.Architecture} from {loaded.Directory} ({loaded.Model.DType}, {loaded.Model.WeightBytesPerToken / 1e6:F0} MB of weights)");
        return loaded;
    }

    /// <summary>Starts the async engine for <paramref name="args"/>, printing what it logs (KV cache size, …) to stderr.</summary>
    public static AsyncLLM StartEngine(EngineArgs args, ParseResult parse)
    {
        TextWriter err = parse.InvocationConfiguration.Error;
        var log = new List<string>();
        AsyncLLM engine = WithStatus(parse, status =>
        {
            status(args.Model is null ? "Preparing the default model" : $"Loading {args.Model}");
            return new AsyncLLM(args, line => { log.Add(line); status(line); });
        }, out bool statusWasTransient);
        // An interactive status line vanishes, so its messages are repeated; redirected output already has them.
        if (statusWasTransient)
            foreach (string line in log) err.WriteLine(line);
        err.WriteLine($"Loaded {engine.ModelPath}");
        return engine;
    }

    private static T WithStatus<T>(ParseResult parse, Func<Action<string>, T> work, out bool transient)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(parse.InvocationConfiguration.Error) });
        transient = console.Profile.Capabilities.Interactive;
        if (!transient)
        {
            // Redirected (logs, CI): plain lines, unwrapped, instead of a spinner's fallback rendering.
            TextWriter err = parse.InvocationConfiguration.Error;
            return work(err.WriteLine);
        }
        T result = default!;
        console.Status().Start("Loading model", ctx => result = work(text => ctx.Status(Markup.Escape(text))));
        return result;
    }
}
