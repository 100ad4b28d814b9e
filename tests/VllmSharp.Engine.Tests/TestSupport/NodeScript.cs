using System.Diagnostics;
using System.Text;

namespace VllmSharp.Engine.Tests.TestSupport;

/// <summary>Runs one of the Node reference scripts in tests/node: writes stdin, returns stdout, fails clearly.</summary>
public static class NodeScript
{
    /// <param name="script">File name in tests/node, e.g. "tokenize.mjs".</param>
    /// <param name="requiredPackage">A package folder under node_modules the script needs (checked first, for a clear message).</param>
    public static string Run(string script, string requiredPackage, string stdin)
    {
        string path = Path.Combine(Fixtures.RepoRoot, "tests", "node", script);
        if (!Directory.Exists(Path.Combine(Fixtures.NodeModules, requiredPackage)))
            throw new InvalidOperationException($"{requiredPackage} is not installed in {Fixtures.NodeModules}: {Fixtures.NpmHint}.");

        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(path)!,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(path);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Cannot run 'node' (install Node.js 18+, then {Fixtures.NpmHint}): {ex.Message}", ex);
        }
        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"node {script} failed ({process.ExitCode}); {Fixtures.NpmHint}?\n{stderr.Result}");
            return stdout.Result;
        }
    }
}
