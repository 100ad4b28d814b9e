using System.CommandLine;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.TestModels;

namespace VllmSharp.Cli.Commands;

/// <summary>
/// <c>vllmsharp create-model --preset NAME --output DIR</c>: writes a complete HF model folder with seeded random
/// weights of a real architecture's shape (no real weights can be downloaded here) and a real tokenizer.
/// </summary>
public static class CreateModelCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset")
        {
            Description = $"Shape to build: {string.Join(", ", TestModelPresets.Names)}.",
            DefaultValueFactory = _ => "qwen2.5-0.5b",
        };
        var output = new Option<string>("--output", "-o") { Description = "Folder to write.", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "float32, float16 or bfloat16.", DefaultValueFactory = _ => "bfloat16" };
        var tokenizer = new Option<string?>("--tokenizer")
        {
            Description = "Folder whose tokenizer files (tokenizer.json, tokenizer_config.json, ...) are copied. Default: the built-in Qwen tokenizer.",
        };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights.", DefaultValueFactory = _ => 0 };
        var vocabSize = new Option<int?>("--vocab-size") { Description = "Override the preset's vocabulary size." };

        var command = new Command("create-model", "Write an HF model folder with seeded random weights of a real model's shape.");
        command.Options.Add(preset);
        command.Options.Add(output);
        command.Options.Add(dtype);
        command.Options.Add(tokenizer);
        command.Options.Add(seed);
        command.Options.Add(vocabSize);
        command.SetAction(parse =>
        {
            string dir = Path.GetFullPath(parse.GetValue(output)!);
            var type = DTypeResolver.Resolve(parse.GetValue(dtype)!, configDtype: null);
            TestModelPreset chosen = TestModelPresets.Get(parse.GetValue(preset)!);
            Directory.CreateDirectory(dir);
            TestModelWriter.Write(chosen, type, dir, (ulong)parse.GetValue(seed), parse.GetValue(vocabSize));
            string? tokenizerDir = parse.GetValue(tokenizer);
            if (tokenizerDir is null) BuiltinTokenizer.WriteTo(dir);
            else CopyTokenizerFiles(tokenizerDir, dir);
            parse.InvocationConfiguration.Output.WriteLine($"Wrote {chosen.Name} ({type}) to {dir}");
            return 0;
        });
        return command;
    }

    private static readonly string[] s_tokenizerFiles =
        ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "tokenizer.model", "special_tokens_map.json", "chat_template.jinja"];

    private static void CopyTokenizerFiles(string from, string to)
    {
        if (!Directory.Exists(from)) throw new DirectoryNotFoundException($"{from}: tokenizer folder not found");
        int copied = 0;
        foreach (string name in s_tokenizerFiles)
        {
            string source = Path.Combine(from, name);
            if (!File.Exists(source)) continue;
            File.Copy(source, Path.Combine(to, name), overwrite: true);
            copied++;
        }
        if (copied == 0) throw new FileNotFoundException($"{from}: no tokenizer files (looked for {string.Join(", ", s_tokenizerFiles)})");
    }
}
