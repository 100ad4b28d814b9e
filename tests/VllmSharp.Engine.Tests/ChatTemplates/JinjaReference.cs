using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VllmSharp.Engine.Tests.TestSupport;

namespace VllmSharp.Engine.Tests.ChatTemplates;

/// <summary>One reference rendering: the output, or the error @huggingface/jinja raised.</summary>
public sealed record JinjaResult(bool Ok, string? Output, string? Error);

/// <summary>
/// Runs tests/node/render-template.mjs (@huggingface/jinja@0.5.11, the renderer transformers.js
/// uses) once for a whole batch of (template, context) pairs.
/// </summary>
public static class JinjaReference
{
    public static IReadOnlyList<JinjaResult> Render(IReadOnlyList<(string Template, JsonObject Context)> jobs)
    {
        string script = Path.Combine(Fixtures.RepoRoot, "tests", "node", "render-template.mjs");
        if (!Directory.Exists(Path.Combine(Fixtures.NodeModules, "@huggingface", "jinja")))
        {
            throw new InvalidOperationException($"@huggingface/jinja is not installed in {Fixtures.NodeModules}: {Fixtures.NpmHint}.");
        }

        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(script)!,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(script);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        foreach ((string template, JsonObject context) in jobs)
        {
            var line = new JsonObject { ["template"] = template, ["context"] = context.DeepClone() };
            process.StandardInput.Write(line.ToJsonString());
            process.StandardInput.Write('\n');
        }

        process.StandardInput.Close();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"node render-template.mjs failed ({process.ExitCode}): {stderr.Result}");
        }

        var results = new List<JinjaResult>();
        foreach (string line in stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement root = doc.RootElement;
            bool ok = root.GetProperty("ok").GetBoolean();
            results.Add(new JinjaResult(ok, ok ? root.GetProperty("output").GetString() : null, ok ? null : root.GetProperty("error").GetString()));
        }

        if (results.Count != jobs.Count)
        {
            throw new InvalidOperationException($"node render-template.mjs returned {results.Count} results for {jobs.Count} inputs.");
        }

        return results;
    }
}
