using System.Runtime.CompilerServices;

namespace VllmSharp.Cli.Tests;

/// <summary>
/// The repository root: the nearest folder holding VllmSharp.sln above the test binaries, or else above this
/// source file (when the binaries were built into an artifacts folder elsewhere).
/// </summary>
internal static class RepoRoot
{
    public static string Path { get; } = Find();

    private static string Find([CallerFilePath] string sourceFile = "")
    {
        foreach (string start in new[] { AppContext.BaseDirectory, System.IO.Path.GetDirectoryName(sourceFile)! })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "VllmSharp.sln"))) return dir.FullName;
        throw new InvalidOperationException($"VllmSharp.sln not found above {AppContext.BaseDirectory}.");
    }
}
