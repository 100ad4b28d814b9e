using VllmSharp.Kernels;
using VllmSharp.Runtime.TestModels;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine;

/// <summary>
/// The model commands use when none is given: the Qwen2.5-0.5B shape with seeded random weights (no real
/// weights can be downloaded here) and the real Qwen tokenizer shipped inside this assembly, written on first
/// use into the cache folder (<c>VLLMSHARP_CACHE</c>, else <c>~/.cache/vllmsharp</c>).
/// </summary>
public static class DefaultModel
{
    public const string PresetName = "qwen2.5-0.5b";
    public const DType WeightType = DType.BF16;
    public const ulong Seed = 0;

    public static string CacheRoot
    {
        get
        {
            string? configured = Environment.GetEnvironmentVariable("VLLMSHARP_CACHE");
            if (!string.IsNullOrWhiteSpace(configured)) return Path.GetFullPath(configured);
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "vllmsharp");
        }
    }

    public static string ModelDirectory => Path.Combine(CacheRoot, "models", $"default-{PresetName}-bf16");

    /// <summary>Returns the default model's folder, creating it first if needed (a few seconds, about 1 GB).</summary>
    public static string EnsureCreated(Action<string>? onStatus = null)
    {
        string dir = ModelDirectory;
        if (File.Exists(Path.Combine(dir, "config.json"))) return dir;

        onStatus?.Invoke($"Creating the default model ({PresetName} shape, random weights) in {dir}");
        // Build into a sibling folder and rename, so an interrupted first run never leaves a half-written model.
        string staging = dir + ".partial-" + Environment.ProcessId;
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        try
        {
            TestModelWriter.Write(TestModelPresets.Get(PresetName), WeightType, staging, Seed);
            BuiltinTokenizer.WriteTo(staging);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.Move(staging, dir);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
        return dir;
    }
}
