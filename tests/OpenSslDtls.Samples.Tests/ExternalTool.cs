using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>
/// Peer programs from the system (openssl, gnutls-cli, gnutls-serv). Missing ones fail the test on CI
/// (.ci/run installs them) and skip it elsewhere, saying how to install them.
/// </summary>
internal static class ExternalTool
{
    public static string Require(string name, string package)
    {
        string? path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
        if (path is not null)
        {
            return path;
        }

        Missing($"'{name}' is not installed; install {package}: apt-get install {package}");
        return name;
    }

    /// <summary>Something a test needs is not installed: on CI (CI=true) the test fails, since .ci/run must provide it; elsewhere it is skipped with <paramref name="message"/>.</summary>
    public static void Missing(string message)
    {
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail($"{message} (CI=true: .ci/run must provide it)");
        }

        Assert.Ignore(message);
    }
}
