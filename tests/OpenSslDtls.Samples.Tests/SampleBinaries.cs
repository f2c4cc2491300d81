namespace OpenSslDtls.Samples.Tests;

/// <summary>
/// The samples, built once per test run in Release into a private artifacts directory (never the
/// tree's own bin/obj, which other builds may be using), and run as <c>dotnet &lt;dll&gt;</c>.
/// </summary>
internal static class SampleBinaries
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);
    private static readonly Lazy<Task> LazyBuild = new(BuildAsync);

    public static string ArtifactsPath => Path.Combine(Repository.Scratch, "artifacts");

    public static string EchoServerDll => Path.Combine(ArtifactsPath, "bin", "EchoServer", "release", "EchoServer.dll");

    public static string EchoClientDll => Path.Combine(ArtifactsPath, "bin", "EchoClient", "release", "EchoClient.dll");

    public static Task EnsureBuiltAsync() => LazyBuild.Value;

    private static async Task BuildAsync()
    {
        // One after the other: all build src/Dtls into the same artifacts directory (HostedEchoServer also
        // src/Hosting, which PackageTests packs).
        foreach (string project in new[] { "EchoServer", "EchoClient", "HostedEchoServer" })
        {
            await Repository.RunToSuccessAsync(
                "dotnet",
                ["build", Repository.PathOf("samples", project), "-c", "Release", "--artifacts-path", ArtifactsPath, "-nologo", "-v", "q"],
                BuildTimeout).ConfigureAwait(false);
        }
    }
}
