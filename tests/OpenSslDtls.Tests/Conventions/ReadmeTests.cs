using System.Reflection;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace OpenSslDtls.Tests.Conventions;

/// <summary>README.md shows the examples the tests run, to the letter (the first as a whole program).</summary>
public partial class ReadmeTests
{
    [TestCase("Dtls/ReadmeExampleTests.cs", 1, "Using the library")]
    [TestCase("Transport/Rfc7983Demultiplexer.cs", 1, "Bring your own transport")]
    [TestCase("Transport/InMemoryTransportTests.cs", 1, "Bring your own transport")]
    public void Readme_shows_the_example_the_tests_run(string file, int regions, string section)
    {
        string root = RepositoryRoot();
        List<string> examples = Regions(File.ReadAllLines(Path.Combine(root, "tests", "OpenSslDtls.Tests", file))).ToList();
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);

        Assert.That(examples, Has.Count.EqualTo(regions), $"README-BEGIN/README-END regions in {file}");
        foreach (string example in examples)
        {
            Assert.That(readme, Does.Contain(example), $"README.md's '{section}' must show the code of {file} between README-BEGIN and README-END (without its indentation)");
        }
    }

    [Test]
    public void Readme_first_block_is_the_example_the_tests_run_after_its_using_directives()
    {
        string root = RepositoryRoot();
        string[] test = File.ReadAllLines(Path.Combine(root, "tests", "OpenSslDtls.Tests", "Dtls", "ReadmeExampleTests.cs"));
        string example = Regions(test).FirstOrDefault() ?? string.Empty;
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        string block = CSharpBlock().Matches(readme).Select(m => m.Groups[1].Value.TrimEnd('\n')).FirstOrDefault() ?? string.Empty;

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

    private static IEnumerable<string> Regions(string[] lines)
    {
        int end = -1;
        while (true)
        {
            int begin = Array.FindIndex(lines, end + 1, l => l.Trim() == "// README-BEGIN");
            end = begin < 0 ? -1 : Array.FindIndex(lines, begin, l => l.Trim() == "// README-END");
            if (begin < 0 || end <= begin)
            {
                yield break;
            }

            string[] body = lines[(begin + 1)..end];
            int indent = body.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
            yield return string.Join('\n', body.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
        }
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
