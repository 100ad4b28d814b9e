using System.Xml.Linq;
using Xunit;

namespace VllmSharp.Cli.Tests;

/// <summary>Enforces DESIGN.md §2's dependency rule on the src/ project files.</summary>
public sealed class ArchitectureTests
{
    /// <summary>Which src projects each src project may reference directly (DESIGN.md §2).</summary>
    private static readonly Dictionary<string, string[]> s_allowed = new()
    {
        ["VllmSharp.Core"] = [],
        ["VllmSharp.Kernels"] = [],
        ["VllmSharp.Runtime"] = ["VllmSharp.Kernels"],
        ["VllmSharp.Engine"] = ["VllmSharp.Core", "VllmSharp.Runtime"],
        ["VllmSharp.Server"] = ["VllmSharp.Engine"],
        ["VllmSharp.Cli"] = ["VllmSharp.Server"],
        ["VllmSharp.Cuda"] = ["VllmSharp.Runtime"],
    };

    /// <summary>Projects that may use only the base class library: no NuGet packages, no framework references.</summary>
    private static readonly string[] s_bclOnly = ["VllmSharp.Core", "VllmSharp.Kernels"];

    private static IEnumerable<string> ProjectNames()
        => Directory.GetFiles(Path.Combine(RepoRoot.Path, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(Path.GetFileNameWithoutExtension)!;

    public static TheoryData<string> SourceProjects() => new(ProjectNames());

    [Fact]
    public void SourceProjects_AllSixExist()
    {
        var names = ProjectNames().ToHashSet();
        foreach (string expected in new[] { "Core", "Kernels", "Runtime", "Engine", "Server", "Cli" })
            Assert.Contains($"VllmSharp.{expected}", names);
    }

    [Theory]
    [MemberData(nameof(SourceProjects))]
    public void ProjectReferences_FollowDependencyRule_NoForbiddenReference(string project)
    {
        Assert.True(s_allowed.TryGetValue(project, out string[]? allowed), $"{project} is not in DESIGN.md §2's table; add it there and here.");
        foreach (string reference in ProjectReferences(project))
            Assert.True(allowed!.Contains(reference), $"{project} references {reference}, which DESIGN.md §2 forbids (allowed: {string.Join(", ", allowed!)}).");
    }

    [Theory]
    [MemberData(nameof(SourceProjects))]
    public void BclOnlyProjects_HaveNoPackageOrFrameworkReferences(string project)
    {
        if (!s_bclOnly.Contains(project)) return;
        XDocument doc = XDocument.Load(ProjectPath(project));
        var extra = doc.Descendants().Where(e => e.Name.LocalName is "PackageReference" or "FrameworkReference")
            .Select(e => (string?)e.Attribute("Include")).ToList();
        Assert.True(extra.Count == 0, $"{project} must use only the BCL but references {string.Join(", ", extra)}.");
    }

    [Theory]
    [MemberData(nameof(SourceProjects))]
    public void UnsafeCode_OnlyInKernels(string project)
    {
        string text = File.ReadAllText(ProjectPath(project));
        bool allowsUnsafe = text.Contains("<AllowUnsafeBlocks>true</AllowUnsafeBlocks>", StringComparison.OrdinalIgnoreCase);
        Assert.True(!allowsUnsafe || project == "VllmSharp.Kernels", $"{project} allows unsafe code; only VllmSharp.Kernels may.");
    }

    [Fact]
    public void RuleChecker_DetectsForbiddenReference()
    {
        // The check above must be able to fail: Kernels -> Runtime would be a violation.
        Assert.DoesNotContain("VllmSharp.Runtime", s_allowed["VllmSharp.Kernels"]);
        Assert.DoesNotContain("VllmSharp.Engine", s_allowed["VllmSharp.Runtime"]);
    }

    private static string ProjectPath(string project) => Path.Combine(RepoRoot.Path, "src", project, project + ".csproj");

    private static IEnumerable<string> ProjectReferences(string project)
        => XDocument.Load(ProjectPath(project)).Descendants()
            .Where(e => e.Name.LocalName == "ProjectReference")
            .Select(e => Path.GetFileNameWithoutExtension(((string)e.Attribute("Include")!).Replace('\\', '/')));
}
