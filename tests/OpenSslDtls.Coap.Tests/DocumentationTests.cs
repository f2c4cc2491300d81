using System.Reflection;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests.Coap;

/// <summary>docs/interop-coap.md (rows for docs/interop.md) names exactly the tests of this project, so the table cannot drift from what CI runs.</summary>
[TestFixture]
public sealed partial class DocumentationTests
{
    [Test]
    public void Every_test_has_a_row_and_every_row_names_a_test()
    {
        string[] tests = [.. typeof(DocumentationTests).Assembly.GetTypes()
            .Where(t => t != typeof(DocumentationTests))
            .SelectMany(t => t.GetMethods())
            .Where(m => m.GetCustomAttributes<TestAttribute>().Any() || m.GetCustomAttributes<TestCaseSourceAttribute>().Any() || m.GetCustomAttributes<TestCaseAttribute>().Any())
            .Select(m => m.Name)
            .Distinct()
            .Order(StringComparer.Ordinal)];
        string[] rows = [.. File.ReadAllLines(Repository.PathOf("docs", "interop-coap.md"))
            .Select(line => LastCell().Match(line))
            .Where(match => match.Success)
            .Select(match => match.Groups[1].Value)
            .Distinct()
            .Order(StringComparer.Ordinal)];

        Assert.That(tests, Is.Not.Empty);
        Assert.That(rows, Is.EqualTo(tests), "the test column of docs/interop-coap.md against this project's tests");
    }

    // The last cell of a table row: | ... | `TestName` |
    [GeneratedRegex(@"^\|.*\| `([A-Za-z0-9_]+)` \|$")]
    private static partial Regex LastCell();
}
