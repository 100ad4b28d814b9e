using System.CommandLine;
using Spectre.Console;
using VllmSharp.Engine;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime.Models;

namespace VllmSharp.Cli;

/// <summary>Resolves the MODEL argument (the default model when absent) and loads it with a progress display.</summary>
public static class ModelLoading
{
    public static LoadedModel Load(ModelOptions options, ParseResult parse)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(parse.InvocationConfiguration.Error) });
        string? requested = parse.GetValue(options.Model);
        string dtype = parse.GetValue(options.DType)!;
        string loadFormat = parse.GetValue(options.LoadFormat)!;
        ulong seed = (ulong)parse.GetValue(options.Seed);

        LoadedModel? loaded = null;
        console.Status().Start("Loading model", ctx =>
        {
            string dir = requested is null
                ? DefaultModel.EnsureCreated(status => ctx.Status(Markup.Escape(status)))
                : Path.GetFullPath(requested);
            ctx.Status(Markup.Escape($"Loading tokenizer from {dir}"));
            ITokenizer tokenizer = HfTokenizer.Load(dir);
            ctx.Status(Markup.Escape($"Loading weights from {dir}"));
            ICausalLM model = ModelLoader.Load(dir, dtype, loadFormat, seed);
            loaded = new LoadedModel(dir, model, tokenizer);
        });
        parse.InvocationConfiguration.Error.WriteLine(
            $"Loaded {loaded!.Model.Config.Architecture} from {loaded.Directory} ({loaded.Model.DType}, {loaded.Model.WeightBytesPerToken / 1e6:F0} MB of weights)");
        return loaded;
    }
}
