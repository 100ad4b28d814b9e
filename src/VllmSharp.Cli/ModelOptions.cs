using System.CommandLine;

namespace VllmSharp.Cli;

/// <summary>The model-selection flags shared by every command that loads a model (vLLM names and defaults).</summary>
public sealed class ModelOptions
{
    public Argument<string?> Model { get; } = new("model")
    {
        Description = "HF model folder (config.json, tokenizer files, *.safetensors) or a .gguf file (tokenizer from its metadata). Default: the built-in default model.",
        Arity = ArgumentArity.ZeroOrOne,
    };

    /// <summary>vLLM also accepts the model as <c>--model</c>; it wins over the positional argument.</summary>
    public Option<string?> ModelFlag { get; } = new("--model") { Description = "Same as the MODEL argument." };

    public Option<string> DType { get; } = new("--dtype")
    {
        Description = "Weight dtype: auto, half, float16, bfloat16, float, float32 (GGUF: auto keeps the stored types; quantized weights are never converted).",
        DefaultValueFactory = _ => "auto",
    };

    public Option<string> LoadFormat { get; } = new("--load-format")
    {
        Description = "auto, safetensors, gguf, or dummy (random weights from config.json or the GGUF metadata).",
        DefaultValueFactory = _ => "auto",
    };

    public Option<int> Seed { get; } = new("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };

    public string? ResolveModel(ParseResult parse) => parse.GetValue(ModelFlag) ?? parse.GetValue(Model);

    public void AddTo(Command command)
    {
        command.Arguments.Add(Model);
        command.Options.Add(ModelFlag);
        command.Options.Add(DType);
        command.Options.Add(LoadFormat);
        command.Options.Add(Seed);
    }
}
