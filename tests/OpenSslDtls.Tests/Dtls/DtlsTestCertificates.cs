using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// The certificates the DTLS tests use, made with <see cref="TestPki"/> when first needed (no key is
/// ever committed) and kept as <see cref="X509Certificate2"/> values for the rest of the run. Server
/// certificates name "localhost", 127.0.0.1 and ::1.
/// </summary>
internal static class DtlsTestCertificates
{
    public const string Host = TestPki.DefaultHost;

    private static readonly Lazy<TempDirectory> LazyDirectory = new(() => TempDirectory.Create("dtls-tests"));

    private static readonly Lazy<TestCertificate> CaPki = new(() => TestPki.CreateCa("OpenSslDtls DTLS Test Root CA"));
    private static readonly Lazy<TestCertificate> OtherCaPki = new(() => TestPki.CreateCa("OpenSslDtls Unrelated CA"));

    private static readonly Lazy<X509Certificate2> LazyEcdsa = new(() => TestPki.CreateSelfSigned(KeyKind.EcdsaP256).ToX509Certificate2());
    private static readonly Lazy<X509Certificate2> LazyRsa = new(() => TestPki.CreateSelfSigned(KeyKind.Rsa2048).ToX509Certificate2());
    private static readonly Lazy<X509Certificate2> LazyCa = new(() => CaPki.Value.ToPublicX509Certificate2());
    private static readonly Lazy<X509Certificate2> LazyServer = new(() => CaPki.Value.Issue().ToX509Certificate2());
    private static readonly Lazy<X509Certificate2> LazyUntrusted = new(() => OtherCaPki.Value.Issue().ToX509Certificate2());
    private static readonly Lazy<X509Certificate2> LazyWrongHost = new(() => CaPki.Value.IssueForHost("elsewhere.example").ToX509Certificate2());
    private static readonly Lazy<X509Certificate2> LazyExpired = new(() => CaPki.Value.IssueExpired().ToX509Certificate2());
    private static readonly Lazy<X509Certificate2> LazyClient = new(() => CaPki.Value.Issue(host: ClientName).ToX509Certificate2());
    private static readonly Lazy<string> LazyCaFile = new(() => WriteFile("ca.pem", CaPki.Value.CertificatePem));
    private static readonly Lazy<Rsa4096Chain> LazyRsa4096 = new(() =>
    {
        TestCertificate leaf = TestPki.Rsa4096Chain;
        return new Rsa4096Chain(leaf.TrustAnchor.ToPublicX509Certificate2(), leaf.Intermediates[0].ToPublicX509Certificate2(), leaf.ToX509Certificate2());
    });

    /// <summary>The name in the client certificate.</summary>
    public const string ClientName = "client.example";

    /// <summary>A private temporary directory for PEM files, deleted at the end of the run.</summary>
    public static string Directory => LazyDirectory.Value.Path;

    /// <summary>Self-signed ECDSA P-256 server certificate.</summary>
    public static X509Certificate2 EcdsaSelfSigned => LazyEcdsa.Value;

    /// <summary>Self-signed RSA-2048 server certificate.</summary>
    public static X509Certificate2 RsaSelfSigned => LazyRsa.Value;

    /// <summary>The test root CA (ECDSA P-256), without its key: what peers trust.</summary>
    public static X509Certificate2 Ca => LazyCa.Value;

    /// <summary>Server certificate issued by <see cref="Ca"/>.</summary>
    public static X509Certificate2 Server => LazyServer.Value;

    /// <summary>Server certificate for localhost issued by a CA nobody trusts.</summary>
    public static X509Certificate2 UntrustedServer => LazyUntrusted.Value;

    /// <summary>Server certificate issued by <see cref="Ca"/> for elsewhere.example only.</summary>
    public static X509Certificate2 WrongHostServer => LazyWrongHost.Value;

    /// <summary>Server certificate issued by <see cref="Ca"/> for localhost that expired yesterday.</summary>
    public static X509Certificate2 ExpiredServer => LazyExpired.Value;

    /// <summary>Client certificate (clientAuth) issued by <see cref="Ca"/>, CN=<see cref="ClientName"/>.</summary>
    public static X509Certificate2 Client => LazyClient.Value;

    /// <summary>A PEM file holding <see cref="Ca"/>.</summary>
    public static string CaFile => LazyCaFile.Value;

    /// <summary>RSA-4096 root, intermediate and leaf (localhost), from <see cref="TestPki.Rsa4096Chain"/>.</summary>
    public static Rsa4096Chain Rsa4096 => LazyRsa4096.Value;

    /// <summary>SHA-256 fingerprint of a certificate as uppercase hex with colons, the form people paste.</summary>
    public static string Sha256Fingerprint(X509Certificate2 certificate) =>
        string.Join(':', certificate.GetCertHash(HashAlgorithmName.SHA256).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Writes <paramref name="contents"/> to a new file in <see cref="Directory"/> and returns its path.</summary>
    public static string WriteFile(string name, string contents)
    {
        string path = Path.Combine(Directory, $"{Path.GetFileNameWithoutExtension(name)}-{Guid.NewGuid():N}{Path.GetExtension(name)}");
        File.WriteAllText(path, contents);
        return path;
    }

    /// <summary>Writes a certificate (then <paramref name="chain"/>) and its private key as PEM files.</summary>
    public static (string CertificateFile, string KeyFile) WritePem(X509Certificate2 certificate, params X509Certificate2[] chain)
    {
        string certificates = string.Concat(new[] { certificate }.Concat(chain).Select(c => c.ExportCertificatePem() + "\n"));
        return (WriteFile("cert.pem", certificates), WriteFile("key.pem", ExportPrivateKeyPem(certificate)));
    }

    /// <summary>The certificate's private key as PKCS#8 PEM.</summary>
    public static string ExportPrivateKeyPem(X509Certificate2 certificate)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey()
            ?? certificate.GetRSAPrivateKey()
            ?? throw new InvalidOperationException($"{certificate.Subject} has no private key.");
        return key.ExportPkcs8PrivateKeyPem();
    }

    /// <summary>Deletes <see cref="Directory"/> if it was created.</summary>
    public static void DeleteFiles()
    {
        if (LazyDirectory.IsValueCreated)
        {
            LazyDirectory.Value.Dispose();
        }
    }

    /// <summary>A three-certificate RSA-4096 chain: big enough that the server's flight needs many fragments.</summary>
    public sealed record Rsa4096Chain(X509Certificate2 Root, X509Certificate2 Intermediate, X509Certificate2 Leaf);
}
