using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>
/// The NuGet package as a user gets it: packed into a local feed, inspected as a zip, then consumed
/// by a new console app outside the repository that runs README.md's example.
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
        await Repository.RunToSuccessAsync(
            "dotnet",
            ["pack", Repository.PathOf("src", "Dtls"), "-c", "Release", "--no-build", "-o", _feed, "--artifacts-path", SampleBinaries.ArtifactsPath,
             $"-p:PackageVersion={_version}", "-nologo", "-v", "q"],
            DotnetTimeout);
    }

    [OneTimeTearDown]
    public void ForgetPackage()
    {
        // The consumer's restore extracted our test version into the global packages folder; it is of no use to anyone.
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string extracted = Path.Combine(packages, "openssldtls", _version ?? "none");
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
    [CancelAfter(600_000)]
    public async Task A_new_console_app_restores_the_package_and_runs_the_README_example()
    {
        string app = Path.Combine(Repository.Scratch, "consumer");
        Directory.CreateDirectory(app);
        await WriteConsumerAsync(app);

        await Repository.RunToSuccessAsync("dotnet", ["build", app, "-c", "Release", "-o", Path.Combine(app, "out"), "-nologo", "-v", "q"], DotnetTimeout, workingDirectory: app);
        PeerProcess run = PeerProcess.Start("dotnet", [Path.Combine(app, "out", "Consumer.dll")], workingDirectory: app);
        await using (run)
        {
            int exit = await run.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.That(exit, Is.Zero, run.Report());
            Assert.That(run.StandardOutput, Does.Contain("DTLSv1.2").And.Contain(": hello"), run.Report());
        }
    }

    private async Task WriteConsumerAsync(string app)
    {
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
        await File.WriteAllTextAsync(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="OpenSslDtls" Version="[{_version}]" />
              </ItemGroup>
            </Project>
            """);

        // The files the README example reads from the current directory.
        File.Copy(TestPki.Shared.ServerCertificateFile, Path.Combine(app, "server.crt"), overwrite: true);
        File.Copy(TestPki.Shared.ServerKeyFile, Path.Combine(app, "server.key"), overwrite: true);
        File.Copy(TestPki.Shared.CaFile, Path.Combine(app, "ca.crt"), overwrite: true);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), $$"""
            using System.Net;
            using System.Net.Sockets;
            using System.Text;
            using OpenSsl.Dtls;

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            CancellationToken cancellationToken = timeout.Token;

            {{await ReadmeExampleAsync()}}
            """);
    }

    /// <summary>
    /// README.md's example as the library's tests keep it compiling and running (between README-BEGIN and
    /// README-END in ReadmeExampleTests.cs). It prints "&lt;version&gt; &lt;cipher&gt;: hello".
    /// </summary>
    private static async Task<string> ReadmeExampleAsync()
    {
        string source = Repository.PathOf("tests", "OpenSslDtls.Tests", "Dtls", "ReadmeExampleTests.cs");
        string[] lines = File.Exists(source) ? await File.ReadAllLinesAsync(source) : [];
        int begin = Array.FindIndex(lines, l => l.Trim() == "// README-BEGIN");
        int end = Array.FindIndex(lines, l => l.Trim() == "// README-END");
        if (begin < 0 || end <= begin)
        {
            Assert.Fail($"{source} has no // README-BEGIN ... // README-END region to run from the package");
        }

        string[] region = lines[(begin + 1)..end];
        int indent = region.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", region.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
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
