using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OpenSslDtls.Listener.Tests.Support;

/// <summary>
/// PEM files for the third-party peers: the listener's certificate (what the peers trust) and an
/// RSA-4096 client certificate, the size that made resumption ClientHellos span several datagrams
/// (issue 8). Written once per run into a private temporary directory.
/// </summary>
internal static class PeerCredentials
{
    private static readonly Lazy<Files> LazyFiles = new(Create);

    /// <summary>The RSA-4096 self-signed client certificate (with its key), trusted by the listener in the tests that ask for one.</summary>
    public static X509Certificate2 ClientCertificate => LazyFiles.Value.Client;

    /// <summary>The listener's certificate as PEM: the CA file of every peer.</summary>
    public static string ServerCertificateFile => LazyFiles.Value.ServerCertificate;

    public static string ClientCertificateFile => LazyFiles.Value.ClientCertificate;

    public static string ClientKeyFile => LazyFiles.Value.ClientKey;

    /// <summary>A fresh file name in the run's directory (for session files and the like).</summary>
    public static string NewFile(string name) => Path.Combine(LazyFiles.Value.Directory, $"{Guid.NewGuid():N}-{name}");

    private static Files Create()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"openssldtls-listener-tests-{Environment.ProcessId}");
        Directory.CreateDirectory(directory);
        string server = Path.Combine(directory, "server.pem");
        File.WriteAllText(server, ListenerTestKit.Certificate.ExportCertificatePem() + "\n");

        using var key = RSA.Create(4096);
        var request = new CertificateRequest("CN=fragment-client.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        X509Certificate2 client = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
        string clientCertificate = Path.Combine(directory, "client.pem");
        string clientKey = Path.Combine(directory, "client.key");
        File.WriteAllText(clientCertificate, client.ExportCertificatePem() + "\n");
        File.WriteAllText(clientKey, key.ExportPkcs8PrivateKeyPem() + "\n");
        return new Files(directory, server, client, clientCertificate, clientKey);
    }

    private sealed record Files(string Directory, string ServerCertificate, X509Certificate2 Client, string ClientCertificate, string ClientKey);
}
