using System.Reflection;
using NUnit.Framework;

namespace OpenSslDtls.Tests.Conventions;

/// <summary>README.md shows the example that ReadmeExampleTests runs, to the letter.</summary>
public class ReadmeTests
{
    [Test]
    public void Readme_shows_the_example_the_tests_run()
    {
        string root = RepositoryRoot();
        string example = string.Join('\n', Region(File.ReadAllLines(Path.Combine(root, "tests", "OpenSslDtls.Tests", "Dtls", "ReadmeExampleTests.cs"))));
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);

        Assert.That(example, Is.Not.Empty, "the README-BEGIN/README-END region is missing");
        Assert.That(readme, Does.Contain(example), "README.md's 'Using the library' must show the code between README-BEGIN and README-END (without its indentation)");
    }

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
}
