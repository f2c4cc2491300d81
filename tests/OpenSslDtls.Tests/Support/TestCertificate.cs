using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenSsl.Interop;
// System.Security.Cryptography has a SafeEvpPKeyHandle of its own (.NET's OpenSSL shim on Unix).
using SafeEvpPKeyHandle = OpenSsl.Interop.SafeEvpPKeyHandle;

namespace OpenSslDtls.Tests.Support;

/// <summary>
/// A certificate and its private key made by <see cref="TestPki"/>, with the issuers above it.
/// Immutable and holds no native or disposable state, so one instance can be cached and shared by any
/// number of tests; every conversion (<see cref="ToX509Certificate2"/>, <see cref="ToOpenSslX509"/>, ...)
/// returns a new object that the caller owns.
/// </summary>
public sealed class TestCertificate
{
    private readonly byte[] _der;
    private readonly byte[] _pkcs8;

    internal TestCertificate(byte[] der, byte[] pkcs8, KeyKind keyKind, bool isCertificateAuthority, TestCertificate? issuer)
    {
        _der = der;
        _pkcs8 = pkcs8;
        KeyKind = keyKind;
        IsCertificateAuthority = isCertificateAuthority;
        Issuer = issuer;
        using X509Certificate2 parsed = X509CertificateLoader.LoadCertificate(der);
        Subject = parsed.Subject;
        NotBefore = parsed.NotBefore.ToUniversalTime();
        NotAfter = parsed.NotAfter.ToUniversalTime();
        CertificatePem = PemEncoding.WriteString("CERTIFICATE", der) + "\n";
        PrivateKeyPem = PemEncoding.WriteString("PRIVATE KEY", pkcs8) + "\n";
    }

    /// <summary>The subject, for example "CN=localhost".</summary>
    public string Subject { get; }

    /// <summary>The key algorithm.</summary>
    public KeyKind KeyKind { get; }

    /// <summary>Whether this certificate may sign others (basicConstraints CA:TRUE).</summary>
    public bool IsCertificateAuthority { get; }

    /// <summary>The certificate that signed this one, or null when self-signed.</summary>
    public TestCertificate? Issuer { get; }

    /// <summary>Start of validity (UTC).</summary>
    public DateTime NotBefore { get; }

    /// <summary>End of validity (UTC).</summary>
    public DateTime NotAfter { get; }

    /// <summary>The root of the chain: the self-signed certificate a peer must trust (this one when self-signed).</summary>
    public TestCertificate TrustAnchor => Issuer?.TrustAnchor ?? this;

    /// <summary>The issuers between this certificate and its root, nearest first (empty under a root or when self-signed).</summary>
    public IReadOnlyList<TestCertificate> Intermediates
    {
        get
        {
            var list = new List<TestCertificate>();
            for (TestCertificate? c = Issuer; c?.Issuer is not null; c = c.Issuer)
            {
                list.Add(c);
            }

            return list;
        }
    }

    /// <summary>The DER encoding of the certificate.</summary>
    public ReadOnlyMemory<byte> RawData => _der;

    /// <summary>The certificate as one PEM block.</summary>
    public string CertificatePem { get; }

    /// <summary>The private key as unencrypted PKCS#8 PEM.</summary>
    public string PrivateKeyPem { get; }

    /// <summary>This certificate then its intermediates, without the root: what a server sends.</summary>
    public string ChainPem => CertificatePem + string.Concat(Intermediates.Select(c => c.CertificatePem));

    /// <summary>
    /// Issues a leaf certificate signed by this CA: CN and DNS name <paramref name="host"/>; when the host
    /// is "localhost", also the IP addresses 127.0.0.1 and ::1. Valid from a day ago for 30 days unless
    /// <paramref name="notBefore"/>/<paramref name="notAfter"/> say otherwise.
    /// </summary>
    public TestCertificate Issue(
        KeyKind keyKind = KeyKind.EcdsaP256,
        string host = TestPki.DefaultHost,
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null) =>
        TestPki.IssueLeaf(this, keyKind, host, TestPki.DefaultAddressesFor(host), notBefore, notAfter);

    /// <summary>Issues a leaf for localhost that expired yesterday (valid from 30 days ago until a day ago).</summary>
    public TestCertificate IssueExpired(KeyKind keyKind = KeyKind.EcdsaP256) =>
        Issue(keyKind, TestPki.DefaultHost, DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));

    /// <summary>Issues a leaf that names only <paramref name="host"/> (no IP address), for name-mismatch tests.</summary>
    public TestCertificate IssueForHost(string host, KeyKind keyKind = KeyKind.EcdsaP256) =>
        TestPki.IssueLeaf(this, keyKind, host, [], null, null);

    /// <summary>Issues an intermediate CA (pathlen 0) signed by this CA.</summary>
    public TestCertificate IssueIntermediate(string commonName, KeyKind keyKind = KeyKind.EcdsaP256) =>
        TestPki.IssueIntermediate(this, commonName, keyKind);

    /// <summary>
    /// Writes certificate.pem, key.pem (mode 0600), chain.pem and trust.pem into <paramref name="directory"/>,
    /// each prefixed with <paramref name="prefix"/> when given, and returns their paths.
    /// </summary>
    public TestPemFiles WritePem(string directory, string? prefix = null)
    {
        string Name(string file) => Path.Combine(directory, prefix is null ? file : $"{prefix}-{file}");
        var files = new TestPemFiles(Name("certificate.pem"), Name("key.pem"), Name("chain.pem"), Name("trust.pem"));
        File.WriteAllText(files.CertificateFile, CertificatePem);
        File.WriteAllText(files.ChainFile, ChainPem);
        File.WriteAllText(files.TrustAnchorFile, TrustAnchor.CertificatePem);
        if (OperatingSystem.IsWindows())
        {
            File.WriteAllText(files.PrivateKeyFile, PrivateKeyPem);
        }
        else
        {
            using var stream = new FileStream(files.PrivateKeyFile, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            using var writer = new StreamWriter(stream);
            writer.Write(PrivateKeyPem);
        }

        return files;
    }

    /// <summary>A new <see cref="X509Certificate2"/> with the private key; the caller disposes it.</summary>
    public X509Certificate2 ToX509Certificate2() => X509Certificate2.CreateFromPem(CertificatePem, PrivateKeyPem);

    /// <summary>A new <see cref="X509Certificate2"/> without the private key (what a peer would trust); the caller disposes it.</summary>
    public X509Certificate2 ToPublicX509Certificate2() => X509CertificateLoader.LoadCertificate(_der);

    /// <summary>The certificate as an OpenSSL <c>X509*</c>, parsed with <c>PEM_read_bio_X509</c>.</summary>
    public SafeX509Handle ToOpenSslX509() => TestPki.ReadX509(CertificatePem);

    /// <summary>The private key as an OpenSSL <c>EVP_PKEY*</c>, parsed with <c>PEM_read_bio_PrivateKey</c>.</summary>
    public SafeEvpPKeyHandle ToOpenSslPrivateKey() => TestPki.ReadPrivateKey(PrivateKeyPem);

    /// <summary>A new .NET key object holding the private key; the caller disposes it.</summary>
    internal AsymmetricAlgorithm CreatePrivateKey()
    {
        AsymmetricAlgorithm key = KeyKind == KeyKind.EcdsaP256 ? ECDsa.Create() : RSA.Create();
        key.ImportPkcs8PrivateKey(_pkcs8, out _);
        return key;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Subject} ({KeyKind}, issued by {Issuer?.Subject ?? "itself"})";
}
