using System.CommandLine;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Loading.Gguf;
using VllmSharp.Runtime.TestModels;

namespace VllmSharp.Cli.Commands;

/// <summary>
/// <c>vllmsharp create-model --preset NAME --output DIR</c>: writes a complete HF model folder with seeded random
/// weights of a real architecture's shape (no real weights can be downloaded here) and a real tokenizer; with
/// <c>--format gguf</c>, one GGUF file (f32/f16/bf16 or quantized) that llama.cpp loads, tokenizer in its metadata.
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
        var output = new Option<string>("--output", "-o") { Description = "Folder to write (safetensors) or .gguf file (gguf).", Required = true };
        var format = new Option<string>("--format")
        {
            Description = "safetensors (an HF folder) or gguf (one file).",
            DefaultValueFactory = _ => "safetensors",
        };
        var dtype = new Option<string?>("--dtype")
        {
            Description = $"safetensors: float32, float16 or bfloat16 (default). gguf: {string.Join(", ", GgufFileTypes.Choices)} (default f16); "
                + "q4_k is llama.cpp's Q4_K_M mix, and k-quant rows that are not a multiple of 256 fall back to q8_0.",
        };
        var tokenizer = new Option<string?>("--tokenizer")
        {
            Description = "Folder whose tokenizer files (tokenizer.json, tokenizer_config.json, ...) are copied. Default: the built-in Qwen tokenizer.",
        };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights.", DefaultValueFactory = _ => 0 };
        var vocabSize = new Option<int?>("--vocab-size") { Description = "Override the preset's vocabulary size." };

        var command = new Command("create-model", "Write an HF model folder with seeded random weights of a real model's shape.");
        command.Options.Add(preset);
        command.Options.Add(output);
        command.Options.Add(format);
        command.Options.Add(dtype);
        command.Options.Add(tokenizer);
        command.Options.Add(seed);
        command.Options.Add(vocabSize);
        command.SetAction(parse =>
        {
            TestModelPreset chosen = TestModelPresets.Get(parse.GetValue(preset)!);
            string formatName = parse.GetValue(format)!.Trim().ToLowerInvariant();
            if (formatName == "gguf")
            {
                string file = WriteGguf(chosen, parse.GetValue(output)!, parse.GetValue(dtype) ?? "f16", (ulong)parse.GetValue(seed),
                    parse.GetValue(vocabSize), parse.GetValue(tokenizer), out GgufFileType fileType);
                parse.InvocationConfiguration.Output.WriteLine($"Wrote {chosen.Name} ({fileType}) to {file}");
                return 0;
            }
            if (formatName != "safetensors") throw new ArgumentException($"invalid --format '{formatName}'; choose safetensors or gguf");
            string dir = Path.GetFullPath(parse.GetValue(output)!);
            var type = DTypeResolver.Resolve(parse.GetValue(dtype) ?? "bfloat16", configDtype: null);
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

    private static string WriteGguf(TestModelPreset preset, string output, string dtype, ulong seed, int? vocabSize, string? tokenizerDir,
        out GgufFileType fileType)
    {
        fileType = GgufFileTypes.Parse(dtype);
        if (vocabSize is { } v) preset = preset.WithVocabSize(v);
        string file = Path.GetFullPath(output);
        if (Directory.Exists(file)) file = Path.Combine(file, $"{preset.Name}-{fileType.ToString().ToLowerInvariant()}.gguf");
        string? folder = Path.GetDirectoryName(file);
        if (folder is not null) Directory.CreateDirectory(folder);

        // A tokenizer must have no more tokens than the model has embedding rows; the built-in Qwen tokenizer fits
        // the Qwen shapes, smaller vocabularies get a byte-level one (any text still encodes, one token per byte).
        int? bos = preset.Config.BosTokenId;
        int[] eos = preset.Config.EosTokenIds;
        GgufVocabulary vocabulary = tokenizerDir is not null
            ? GgufVocabularyExport.FromModelDir(tokenizerDir, bos, eos)
            : preset.Config.VocabSize >= BuiltinTokenizer.VocabSize ? GgufVocabularyExport.Builtin(bos, eos)
            : ByteLevelTestVocabulary.Create();
        if (vocabulary.Count > preset.Config.VocabSize)
            throw new ArgumentException($"the tokenizer has {vocabulary.Count} tokens but {preset.Name} only {preset.Config.VocabSize}; pass --vocab-size {vocabulary.Count} or more");
        GgufTestModelWriter.Write(preset, fileType, file, seed, vocabulary);
        return file;
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
