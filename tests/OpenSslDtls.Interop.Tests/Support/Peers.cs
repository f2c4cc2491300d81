using OpenSslDtls.Samples.Tests;

namespace OpenSslDtls.Interop.Tests.Support;

/// <summary>
/// The peer programs. Each lookup records the peer's version; a missing program fails the test under
/// CI=true (.ci/run and .ci/peers-interop.sh install them) and skips it elsewhere.
/// </summary>
internal static class Peers
{
    private static readonly Lazy<Task> LazyNativeBuild = new(() => Repository.RunToSuccessAsync(
        "bash", [Repository.PathOf("native", "build.sh")], TimeSpan.FromMinutes(5)));

    private static readonly Lazy<Task> LazyMbedTlsBuild = new(() => Repository.RunToSuccessAsync(
        "bash", [Repository.PathOf("native", "mbedtls", "build.sh")], TimeSpan.FromMinutes(5)));

    public static string OpenSsl()
    {
        string path = ExternalTool.Require("openssl", "openssl");
        PeerVersions.Note(PeerVersions.OpenSsl, path, "version");
        return path;
    }

    public static string GnuTlsCli()
    {
        string path = ExternalTool.Require("gnutls-cli", "gnutls-bin");
        PeerVersions.NoteGnuTls(path);
        return path;
    }

    public static string GnuTlsServ()
    {
        string path = ExternalTool.Require("gnutls-serv", "gnutls-bin");
        PeerVersions.NoteGnuTls(path);
        return path;
    }

    public static string Tshark()
    {
        string path = ExternalTool.Require("tshark", "tshark");
        PeerVersions.Note(PeerVersions.Tshark, path, "--version");
        return path;
    }

    /// <summary>native/build/dtls-echo-server and -client (OpenSSL's libssl driven by C code nobody here wrote against our API).</summary>
    public static async Task<(string Server, string Client)> NativeAsync()
    {
        ExternalTool.Require("cmake", "cmake");
        await LazyNativeBuild.Value;
        PeerVersions.Note(PeerVersions.Native, "openssl", "version");
        return (Repository.PathOf("native", "build", "dtls-echo-server"), Repository.PathOf("native", "build", "dtls-echo-client"));
    }

    /// <summary>native/mbedtls/build/mbedtls-dtls-peer, built over Debian's libmbedtls-dev.</summary>
    public static async Task<string> MbedTlsAsync()
    {
        if (!File.Exists("/usr/include/mbedtls/ssl.h"))
        {
            ExternalTool.Require("/usr/include/mbedtls/ssl.h", "libmbedtls-dev"); // not a program: fails (CI) or skips with the package to install
        }

        await LazyMbedTlsBuild.Value;
        string path = Repository.PathOf("native", "mbedtls", "build", "mbedtls-dtls-peer");
        PeerVersions.Note(PeerVersions.MbedTls, path, "--version");
        return path;
    }

    public static void BouncyCastle() =>
        PeerVersions.NoteValue(PeerVersions.BouncyCastle, "BouncyCastle.Cryptography " +
            (System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(
                typeof(Org.BouncyCastle.Tls.DtlsClientProtocol).Assembly)?.InformationalVersion ?? "?").Split('+')[0]);
}
