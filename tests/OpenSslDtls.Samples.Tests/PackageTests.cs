using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>
/// The NuGet packages as a user gets them: packed into a local feed, inspected as zips, then consumed
/// by new console apps outside the repository, one per C# block of README.md, each block a whole
/// Program.cs; the first runs with certificates made by the README's own openssl commands.
/// </summary>
[TestFixture]
public sealed partial class PackageTests
{
    private static readonly TimeSpan DotnetTimeout = TimeSpan.FromMinutes(5);

    private string _feed = null!;
    private string _version = null!;

    private string PackageFile => Path.Combine(_feed, $"OpenSslDtls.{_version}.nupkg");

    private string SymbolsFile => Path.Combine(_feed, $"OpenSslDtls.{_version}.snupkg");

    [OneTimeSetUp]
    public async Task PackAsync()
    {
        // The samples' Release build (in this run's artifacts directory) already compiled src/Dtls and
        // src/OpenSsl.Interop; pack those very binaries. The package gets a version of its own, so that
        // the global packages folder can never serve an older build under the same number.
        await SampleBinaries.EnsureBuiltAsync();
        string baseVersion = VersionElement().Match(await File.ReadAllTextAsync(Repository.PathOf("Directory.Build.props"))).Groups[1].Value;
        _version = $"{baseVersion}-samplestest.{DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture)}.{Environment.ProcessId}";
        _feed = Path.Combine(Repository.Scratch, "feed");
        foreach (string project in new[] { "Dtls", "Hosting" })
        {
            await Repository.RunToSuccessAsync(
                "dotnet",
                ["pack", Repository.PathOf("src", project), "-c", "Release", "--no-build", "-o", _feed, "--artifacts-path", SampleBinaries.ArtifactsPath,
                 $"-p:PackageVersion={_version}", "-nologo", "-v", "q"],
                DotnetTimeout);
        }
    }

    [OneTimeTearDown]
    public void ForgetPackage()
    {
        // The consumer's restore extracted our test version into the global packages folder; it is of no use to anyone.
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string packageId in new[] { "openssldtls", "openssldtls.hosting" })
        {
            string extracted = Path.Combine(packages, packageId, _version ?? "none");
            if (Directory.Exists(extracted))
            {
                Directory.Delete(extracted, recursive: true);
            }

            string id = Path.GetDirectoryName(extracted)!;
            if (Directory.Exists(id) && !Directory.EnumerateFileSystemEntries(id).Any())
            {
                Directory.Delete(id);
            }
        }
    }

    [Test]
    public void Package_holds_both_assemblies_with_XML_docs_the_readme_and_the_dependencies()
    {
        Assert.That(File.Exists(PackageFile), Is.True, $"{PackageFile} was not made");
        using ZipArchive package = ZipFile.OpenRead(PackageFile);
        string[] entries = [.. package.Entries.Select(e => e.FullName)];
        Assert.That(entries, Is.SupersetOf(new[]
        {
            "lib/net10.0/OpenSsl.Dtls.dll",
            "lib/net10.0/OpenSsl.Dtls.xml",
            "lib/net10.0/OpenSsl.Interop.dll",
            "lib/net10.0/OpenSsl.Interop.xml",
            "README.md",
        }));
        Assert.That(entries.Where(e => e.EndsWith(".pdb", StringComparison.Ordinal)), Is.Empty, "symbols belong in the .snupkg");

        XElement metadata = ReadNuspec(package).Elements().Single(e => e.Name.LocalName == "metadata");
        XNamespace ns = metadata.Name.Namespace;
        Assert.Multiple(() =>
        {
            Assert.That(metadata.Element(ns + "id")?.Value, Is.EqualTo("OpenSslDtls"));
            Assert.That(metadata.Element(ns + "version")?.Value, Is.EqualTo(_version));
            Assert.That(metadata.Element(ns + "license")?.Attribute("type")?.Value, Is.EqualTo("expression"));
            Assert.That(metadata.Element(ns + "license")?.Value, Is.Not.Empty);
            Assert.That(metadata.Element(ns + "readme")?.Value, Is.EqualTo("README.md"));
            Assert.That(metadata.Element(ns + "description")?.Value, Is.Not.Empty);
            Assert.That(metadata.Element(ns + "repository")?.Attribute("url")?.Value, Does.StartWith("https://"));
        });

        string[] dependencies = [.. metadata.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value)];
        Assert.That(dependencies, Is.EquivalentTo(ExpectedDependencies()), "every package src/Dtls references (and nothing else: OpenSsl.Interop ships inside)");

        // The README in the package is the repository's own.
        using var readme = new StreamReader(package.GetEntry("README.md")!.Open());
        Assert.That(readme.ReadToEnd(), Is.EqualTo(File.ReadAllText(Repository.PathOf("README.md"))));
    }

    [Test]
    public void Symbol_package_holds_both_PDBs()
    {
        Assert.That(File.Exists(SymbolsFile), Is.True, $"{SymbolsFile} was not made");
        using ZipArchive symbols = ZipFile.OpenRead(SymbolsFile);
        Assert.That(symbols.Entries.Select(e => e.FullName), Is.SupersetOf(new[] { "lib/net10.0/OpenSsl.Dtls.pdb", "lib/net10.0/OpenSsl.Interop.pdb" }));
    }

    [Test]
    public void Hosting_package_holds_its_assembly_with_XML_docs_and_depends_on_this_OpenSslDtls()
    {
        string file = Path.Combine(_feed, $"OpenSslDtls.Hosting.{_version}.nupkg");
        Assert.That(File.Exists(file), Is.True, $"{file} was not made");
        using ZipArchive package = ZipFile.OpenRead(file);
        Assert.That(package.Entries.Select(e => e.FullName), Is.SupersetOf(new[] { "lib/net10.0/OpenSsl.Dtls.Hosting.dll", "lib/net10.0/OpenSsl.Dtls.Hosting.xml", "README.md" }));
        XElement metadata = ReadNuspec(package).Elements().Single(e => e.Name.LocalName == "metadata");
        XNamespace ns = metadata.Name.Namespace;
        Dictionary<string, string> dependencies = metadata.Descendants(ns + "dependency").ToDictionary(d => d.Attribute("id")!.Value, d => d.Attribute("version")!.Value);
        Assert.Multiple(() =>
        {
            Assert.That(metadata.Element(ns + "id")?.Value, Is.EqualTo("OpenSslDtls.Hosting"));
            Assert.That(dependencies.GetValueOrDefault("OpenSslDtls"), Is.EqualTo(_version), "the library it was built with");
            Assert.That(dependencies.Keys, Is.SupersetOf(new[] { "Microsoft.Extensions.Hosting.Abstractions", "Microsoft.Extensions.Options.ConfigurationExtensions", "Microsoft.Extensions.Diagnostics.HealthChecks" }));
        });
    }

    /// <summary>README.md's C# blocks, each a whole Program.cs (using directives included), by position.</summary>
    public static IEnumerable<TestCaseData> ReadmeBlocks() =>
        CSharpBlocks(File.ReadAllText(Repository.PathOf("README.md"))).Select((block, i) =>
            new TestCaseData(i).SetArgDisplayNames($"block {i + 1}: {block.Split('\n').First(l => !l.StartsWith("using ", StringComparison.Ordinal) && l.Length > 0)}"));

    [TestCaseSource(nameof(ReadmeBlocks))]
    [CancelAfter(600_000)]
    public async Task Each_README_CSharp_block_builds_as_a_fresh_app_against_the_packages(int index)
    {
        string block = CSharpBlocks(await File.ReadAllTextAsync(Repository.PathOf("README.md"))).ElementAt(index);
        string app = await WriteConsumerAsync($"consumer-{index}", block);
        await Repository.RunToSuccessAsync("dotnet", ["build", app, "-c", "Release", "-o", Path.Combine(app, "out"), "-nologo", "-v", "q"], DotnetTimeout, workingDirectory: app);

        if (index == 0)
        {
            // The first block is the README's runnable example: server.crt, server.key and ca.crt come from
            // the README's own openssl commands, run as shown in the app's directory.
            string commands = ShellBlocks(await File.ReadAllTextAsync(Repository.PathOf("README.md"))).First(b => b.Contains("openssl req", StringComparison.Ordinal));
            await Repository.RunToSuccessAsync("bash", ["-euo", "pipefail", "-c", commands], TimeSpan.FromSeconds(60), workingDirectory: app);
            PeerProcess run = PeerProcess.Start("dotnet", [Path.Combine(app, "out", "Consumer.dll")], workingDirectory: app);
            await using (run)
            {
                int exit = await run.WaitForExitAsync(TimeSpan.FromSeconds(60));
                Assert.That(exit, Is.Zero, run.Report());
                Assert.That(run.StandardOutput, Does.Contain("DTLSv1.2").And.Contain(": hello"), run.Report());
            }
        }
    }

    [Test]
    public void The_README_tells_a_reader_to_add_exactly_the_packages_the_consumer_apps_reference()
    {
        // WriteConsumerAsync references OpenSslDtls, or OpenSslDtls.Hosting and Microsoft.Extensions.Hosting.
        string readme = File.ReadAllText(Repository.PathOf("README.md"));
        string[] told = [.. Regex.Matches(readme, @"dotnet\s+add\s+package\s+([A-Za-z0-9.]+)").Select(m => m.Groups[1].Value).Distinct().Order(StringComparer.Ordinal)];
        Assert.That(told, Is.EqualTo(new[] { "Microsoft.Extensions.Hosting", "OpenSslDtls", "OpenSslDtls.Hosting" }));
    }

    private async Task<string> WriteConsumerAsync(string name, string program)
    {
        string app = Path.Combine(Repository.Scratch, name);
        Directory.CreateDirectory(app);
        // Sources this machine reaches (`dotnet nuget list source`), after our feed; <clear/> drops anything inherited.
        string[] sources = await EnabledSourcesAsync();
        string sourceLines = string.Join("\n", sources.Select((s, i) => $"    <add key=\"source{i}\" value=\"{s}\" />"));
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="openssldtls-test-feed" value="{_feed}" />
            {sourceLines}
              </packageSources>
            </configuration>
            """);

        // Under /tmp nothing of the repository's Directory.*.props applies; these make sure of it.
        await File.WriteAllTextAsync(Path.Combine(app, "Directory.Build.props"), "<Project />\n");
        await File.WriteAllTextAsync(Path.Combine(app, "Directory.Build.targets"), "<Project />\n");
        await File.WriteAllTextAsync(Path.Combine(app, "Directory.Packages.props"), "<Project>\n  <PropertyGroup>\n    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>\n  </PropertyGroup>\n</Project>\n");
        // Exactly the packages the README tells a reader to add: a block that uses the hosting package gets
        // it (which brings OpenSslDtls) and the Generic Host at the version the repository pins; any other, OpenSslDtls.
        string references = program.Contains("using OpenSsl.Dtls.Hosting;", StringComparison.Ordinal)
            ? $"""
                <PackageReference Include="OpenSslDtls.Hosting" Version="[{_version}]" />
                <PackageReference Include="Microsoft.Extensions.Hosting" Version="{await PinnedVersionAsync("Microsoft.Extensions.Hosting")}" />
            """
            : $"""
                <PackageReference Include="OpenSslDtls" Version="[{_version}]" />
            """;
        // A block of type declarations only (a transport class) is a library; any other block is a program's top-level statements.
        string outputType = TypeDeclarationsOnly(program) ? "Library" : "Exe";
        await File.WriteAllTextAsync(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>{outputType}</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
            {references}
              </ItemGroup>
            </Project>
            """);
        // Exactly the block, nothing added: it must compile as it stands.
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), program + "\n");
        return app;
    }

    /// <summary>True when the first line of code after the using directives and comments declares a type.</summary>
    private static bool TypeDeclarationsOnly(string program) =>
        program.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith("//", StringComparison.Ordinal) && !l.StartsWith("using ", StringComparison.Ordinal)) is { } first
        && TypeDeclaration().IsMatch(first);

    [GeneratedRegex(@"^(public |internal |file )?(sealed |static |abstract |partial )*(class|record|struct|interface|enum) ")]
    private static partial Regex TypeDeclaration();

    /// <summary>The fenced blocks of <paramref name="language"/> in a Markdown text, in order.</summary>
    private static IEnumerable<string> FencedBlocks(string markdown, string language) =>
        Regex.Matches(markdown.Replace("\r\n", "\n", StringComparison.Ordinal), $"```{language}\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value);

    private static IEnumerable<string> CSharpBlocks(string markdown) => FencedBlocks(markdown, "csharp");

    private static IEnumerable<string> ShellBlocks(string markdown) => FencedBlocks(markdown, "sh");

    /// <summary>A package's version from Directory.Packages.props.</summary>
    private static async Task<string> PinnedVersionAsync(string package)
    {
        XDocument props = XDocument.Parse(await File.ReadAllTextAsync(Repository.PathOf("Directory.Packages.props")));
        return props.Descendants("PackageVersion").Single(p => (string?)p.Attribute("Include") == package).Attribute("Version")!.Value;
    }

    private static async Task<string[]> EnabledSourcesAsync()
    {
        PeerProcess list = PeerProcess.Start("dotnet", ["nuget", "list", "source", "--format", "short"], workingDirectory: Path.GetTempPath());
        await using (list)
        {
            Assert.That(await list.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, list.Report());
            // Lines read "E https://api.nuget.org/v3/index.json" (E: enabled, D: disabled).
            string[] sources = [.. list.StandardOutput.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("E ", StringComparison.Ordinal)).Select(l => l[2..].Trim())];
            return sources.Length > 0 ? sources : ["https://api.nuget.org/v3/index.json"];
        }
    }

    /// <summary>The packages src/Dtls references (the project and the central versions say which), which the package must declare.</summary>
    private static string[] ExpectedDependencies()
    {
        XDocument project = XDocument.Load(Repository.PathOf("src", "Dtls", "OpenSsl.Dtls.csproj"));
        return [.. project.Descendants("PackageReference")
            .Where(r => !string.Equals((string?)r.Attribute("PrivateAssets"), "all", StringComparison.OrdinalIgnoreCase))
            .Select(r => (string)r.Attribute("Include")!)];
    }

    private static XElement ReadNuspec(ZipArchive package)
    {
        ZipArchiveEntry nuspec = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        using Stream stream = nuspec.Open();
        return XDocument.Load(stream).Root!;
    }

    [GeneratedRegex("<Version>([^<]+)</Version>")]
    private static partial Regex VersionElement();
}
