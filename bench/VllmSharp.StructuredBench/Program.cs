using System.Globalization;
using VllmSharp.StructuredBench;

// Structured-output overhead (issue #8 item 6). Each mode prints "key value" lines; `report` turns the collected
// lines into the markdown of bench/results/structured-output.md. Compile modes run in fresh processes so that the
// "first request" numbers include what a real first request pays (JIT of the compiler, the vocabulary trie).
//   structured-bench compile <model> cold|prewarm
//   structured-bench decode <model> [tokens=64] [batch1-reps=2] [batch=16]
//   structured-bench report < lines
try
{
    switch (args.Length > 0 ? args[0] : "")
    {
        case "compile" when args.Length == 3 && args[2] is "cold" or "prewarm":
            CompileBench.Run(args[1], prewarm: args[2] == "prewarm", Console.Out);
            return 0;
        case "decode" when args.Length >= 2:
            DecodeBench.Run(args[1], IntArg(args, 2, 64), IntArg(args, 3, 2), IntArg(args, 4, 16), Console.Out);
            return 0;
        case "report":
            Report.Write(Console.In, Console.Out);
            return 0;
        default:
            Console.Error.WriteLine("usage: structured-bench compile <model> cold|prewarm | decode <model> [tokens] [batch1-reps] [batch] | report < lines");
            return 2;
    }
}
catch (Exception e)
{
    Console.Error.WriteLine($"structured-bench: {e}");
    return 1;
}

static int IntArg(string[] args, int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
