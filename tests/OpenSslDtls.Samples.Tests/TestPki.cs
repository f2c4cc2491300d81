using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OpenSslDtls.Samples.Tests;

/// <summary>
/// A throwaway CA with a server certificate (localhost, 127.0.0.1, ::1) and a client certificate, all
/// ECDSA P-256, written as PEM files (keys in PKCS#8) that OpenSSL, GnuTLS and the samples all read.
/// </summary>
public sealed class TestPki
{
    private static readonly Lazy<TestPki> LazyShared = new(() => new TestPki(Path.Combine(Repository.Scratch, "pki")));

    private TestPki(string directory)
    {
        Directory.CreateDirectory(directory);
        CaFile = Path.Combine(directory, "ca.pem");
        ServerCertificateFile = Path.Combine(directory, "server.pem");
        ServerKeyFile = Path.Combine(directory, "server.key");
        ClientCertificateFile = Path.Combine(directory, "client.pem");
        ClientKeyFile = Path.Combine(directory, "client.key");

        DateTimeOffset now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=OpenSslDtls Samples Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(now.AddHours(-1), now.AddDays(2));
        File.WriteAllText(CaFile, ca.ExportCertificatePem() + "\n");

        var serverNames = new SubjectAlternativeNameBuilder();
        serverNames.AddDnsName("localhost");
        serverNames.AddIpAddress(IPAddress.Loopback);
        serverNames.AddIpAddress(IPAddress.IPv6Loopback);
        Issue(ca, "CN=localhost", serverNames, "1.3.6.1.5.5.7.3.1", ServerCertificateFile, ServerKeyFile, 1);

        var clientNames = new SubjectAlternativeNameBuilder();
        clientNames.AddDnsName("echo-client.test");
        Issue(ca, "CN=echo-client.test", clientNames, "1.3.6.1.5.5.7.3.2", ClientCertificateFile, ClientKeyFile, 2);
    }

    public static TestPki Shared => LazyShared.Value;

    public string CaFile { get; }

    public string ServerCertificateFile { get; }

    public string ServerKeyFile { get; }

    public string ClientCertificateFile { get; }

    public string ClientKeyFile { get; }

    private static void Issue(X509Certificate2 ca, string subject, SubjectAlternativeNameBuilder names, string usage, string certificateFile, string keyFile, byte serial)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using X509Certificate2 certificate = request.Create(ca, now.AddHours(-1), now.AddDays(1), [serial, 0x5A, 0x17]);
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
    }
}
