using System.Reflection;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace OpenSslDtls.Tests.Conventions;

/// <summary>README.md shows the example that ReadmeExampleTests runs, to the letter, as a whole program.</summary>
public partial class ReadmeTests
{
    [Test]
    public void Readme_shows_the_example_the_tests_run_with_its_using_directives()
    {
        string root = RepositoryRoot();
        string[] test = File.ReadAllLines(Path.Combine(root, "tests", "OpenSslDtls.Tests", "Dtls", "ReadmeExampleTests.cs"));
        string example = string.Join('\n', Region(test));
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        string block = CSharpBlocks(readme).FirstOrDefault() ?? string.Empty;

        // The block opens with using directives (what a fresh console app needs besides its implicit usings), then the region.
        string[] blockLines = block.Split('\n');
        string[] usings = [.. blockLines.TakeWhile(l => UsingDirective().IsMatch(l) || l.Length == 0).Where(l => l.Length > 0)];
        string body = string.Join('\n', blockLines.SkipWhile(l => UsingDirective().IsMatch(l) || l.Length == 0));

        Assert.Multiple(() =>
        {
            Assert.That(example, Is.Not.Empty, "the README-BEGIN/README-END region is missing");
            Assert.That(body, Is.EqualTo(example), "README.md's first C# block must be the code between README-BEGIN and README-END (without its indentation), after its using directives");
            Assert.That(usings, Is.Not.Empty, "the block starts with its using directives, so that it compiles as it stands");
            Assert.That(test.Where(l => UsingDirective().IsMatch(l)), Is.SupersetOf(usings), "each using directive the README shows is one the test itself compiles with");
        });
    }

    /// <summary>The C# fenced blocks of a Markdown text, in order.</summary>
    public static IEnumerable<string> CSharpBlocks(string markdown) =>
        CSharpBlock().Matches(markdown).Select(m => m.Groups[1].Value.TrimEnd('\n'));

    private static IEnumerable<string> Region(string[] lines)
    {
        int begin = Array.FindIndex(lines, l => l.Trim() == "// README-BEGIN");
        int end = Array.FindIndex(lines, l => l.Trim() == "// README-END");
        if (begin < 0 || end <= begin)
        {
            return [];
        }

        string[] body = lines[(begin + 1)..end];
        int indent = body.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return body.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart());
    }

    private static string RepositoryRoot()
    {
        // Recorded at build time (the csproj's AssemblyMetadata), since the tests may run from an artifacts directory anywhere.
        string? recorded = typeof(ReadmeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        foreach (string start in new[] { recorded, TestContext.CurrentContext.TestDirectory }.OfType<string>())
        {
            for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "OpenSslDtls.sln")))
                {
                    return d.FullName;
                }
            }
        }

        throw new DirectoryNotFoundException($"OpenSslDtls.sln not found above {recorded} or the test directory");
    }

    [GeneratedRegex(@"^using [A-Za-z0-9_.]+;$")]
    private static partial Regex UsingDirective();

    [GeneratedRegex("```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
