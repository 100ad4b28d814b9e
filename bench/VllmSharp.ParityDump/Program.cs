using System.Globalization;
using VllmSharp.ParityDump;
using VllmSharp.Runtime.Loading;

// parity-dump: VllmSharp's half of bench/llama-parity.sh.
//   dump MODEL.gguf TOKENS.txt LOGITS.bin [--count N] [--seed S]
//       writes N seeded random token ids (BOS first when the model has one) to TOKENS.txt, runs them as one
//       prefill with logits for every position, and writes those as raw f32 [n_tokens × vocab].
//   compare TOKENS.txt REFERENCE.bin OURS.bin --vocab V [--max-kl K] [--max-rel R] [--tie-gap G]
//       prints the agreement metrics of OURS against REFERENCE (llama.cpp) and PASS/FAIL against the limits.
try
{
    if (args.Length >= 4 && args[0] == "dump")
    {
        int count = IntOption(args, "--count", 64), seed = IntOption(args, "--seed", 1);
        return LogitsDump.Run(args[1], args[2], args[3], count, seed, Console.Out);
    }
    if (args.Length >= 4 && args[0] == "compare")
    {
        var limits = new ParityLimits(
            DoubleOption(args, "--max-kl", 1e-3), DoubleOption(args, "--max-rel", 1e-2), DoubleOption(args, "--tie-gap", 0.0));
        int vocab = IntOption(args, "--vocab", 0);
        return LogitsComparison.Run(args[1], args[2], args[3], vocab, limits, Console.Out);
    }
    Console.Error.WriteLine("usage: parity-dump dump MODEL TOKENS.txt LOGITS.bin [--count N] [--seed S]");
    Console.Error.WriteLine("       parity-dump compare TOKENS.txt REFERENCE.bin OURS.bin --vocab V [--max-kl K] [--max-rel R] [--tie-gap G]");
    return 2;
}
catch (Exception e) when (e is ModelLoadException or IOException or ArgumentException or InvalidDataException or FormatException
    or NotSupportedException)
{
    // Exit code 3 tells the script "VllmSharp cannot load or run this file" (e.g. a tensor type not supported yet).
    Console.Error.WriteLine($"parity-dump: {e.Message}");
    return e is ModelLoadException or NotSupportedException ? 3 : 1;
}

static string? Option(string[] args, string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static int IntOption(string[] args, string name, int fallback)
    => Option(args, name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

static double DoubleOption(string[] args, string name, double fallback)
    => Option(args, name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
