namespace OpenSslDtls.Samples.Tests;

/// <summary>The C reference peers (native/), built once per test run with native/build.sh (which is idempotent and locked).</summary>
internal static class NativePeers
{
    private static readonly Lazy<Task> LazyBuild = new(() => Repository.RunToSuccessAsync(
        "bash", [Repository.PathOf("native", "build.sh")], TimeSpan.FromMinutes(5)));

    public static string Server => Repository.PathOf("native", "build", "dtls-echo-server");

    public static string Client => Repository.PathOf("native", "build", "dtls-echo-client");

    public static Task EnsureBuiltAsync() => LazyBuild.Value;
}
