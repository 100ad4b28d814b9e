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
        var input = new StringBuilder();
        foreach ((string template, JsonObject context) in jobs)
            input.Append(new JsonObject { ["template"] = template, ["context"] = context.DeepClone() }.ToJsonString()).Append('\n');
        string stdout = NodeScript.Run("render-template.mjs", Path.Combine("@huggingface", "jinja"), input.ToString());

        var results = new List<JinjaResult>();
        foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
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
