using System.Reflection;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>Paths in the source tree and a scratch directory per test run.</summary>
internal static class Repository
{
    private static readonly Lazy<string> LazyRoot = new(() =>
    {
        // Recorded at build time (the csproj's AssemblyMetadata), since the tests may run from an artifacts directory anywhere.
        string? recorded = typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        foreach (string start in new[] { recorded, TestContext.CurrentContext.TestDirectory }.OfType<string>())
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "OpenSslDtls.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException($"OpenSslDtls.sln not found above {recorded} or {TestContext.CurrentContext.TestDirectory}");
    });

    private static readonly Lazy<string> LazyScratch = new(() =>
        Directory.CreateTempSubdirectory("openssldtls-samples-tests-").FullName);

    public static string Root => LazyRoot.Value;

    /// <summary>A directory under /tmp for this test run: build outputs, certificates, the package feed. Deleted at the end.</summary>
    public static string Scratch => LazyScratch.Value;

    public static bool ScratchCreated => LazyScratch.IsValueCreated;

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>Runs a build-like command to completion (bounded) and fails with its output if it fails.</summary>
    public static async Task<PeerProcess> RunToSuccessAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        PeerProcess process = PeerProcess.Start(fileName, arguments, environment, workingDirectory ?? Root);
        try
        {
            int exit = await process.WaitForExitAsync(timeout).ConfigureAwait(false);
            if (exit != 0)
            {
                throw new AssertionException($"'{process.Description}' failed with exit code {exit}.\n{process.Report()}");
            }

            return process;
        }
        finally
        {
            await process.DisposeAsync().ConfigureAwait(false);
        }
    }
}
