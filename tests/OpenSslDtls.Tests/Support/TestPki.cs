using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using OpenSsl.Interop;
// System.Security.Cryptography has a SafeEvpPKeyHandle of its own (.NET's OpenSSL shim on Unix).
using SafeEvpPKeyHandle = OpenSsl.Interop.SafeEvpPKeyHandle;

namespace OpenSslDtls.Tests.Support;

/// <summary>
/// Certificates made at test time with <see cref="CertificateRequest"/>; no key is ever committed.
/// </summary>
/// <remarks>
/// <para>Typical use:</para>
/// <code>
/// TestCertificate server = TestPki.CreateSelfSigned(KeyKind.EcdsaP256);      // CN=localhost, SAN localhost, 127.0.0.1, ::1
/// TestCertificate ca = TestPki.CreateCa("Test Root");
/// TestCertificate leaf = ca.Issue(KeyKind.Rsa2048);                          // or ca.IssueExpired(), ca.IssueForHost("wrong.example")
/// TestPemFiles files = leaf.WritePem(tempDirectory.Path);                   // certificate, key, chain and trust anchor files
/// using X509Certificate2 managed = leaf.ToX509Certificate2();               // for the OpenSsl.Dtls API
/// TestPki.UseIdentity(sslContext, leaf); TestPki.Trust(clientContext, ca);  // for the raw interop layer
/// </code>
/// <para>
/// Certificates are immutable values, so expensive ones are cached for the whole run:
/// <see cref="Rsa4096Chain"/>, and the RSA-4096 keys behind <see cref="KeyKind.Rsa4096"/>.
/// </para>
/// </remarks>
public static class TestPki
{
    /// <summary>The host name every default server certificate is issued for.</summary>
    public const string DefaultHost = "localhost";

    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    // RSA-4096 generation takes one to three seconds per key on a small CI machine: a pool of distinct keys is
    // made once per run (in parallel) and handed out in turn, so a chain made in one go gets a different key
    // at each level.
    private const int Rsa4096PoolSize = 3;
    private static readonly Lazy<byte[][]> Rsa4096Keys = new(CreateRsa4096Pool);
    private static int _nextRsa4096Key = -1;

    private static readonly Lazy<TestCertificate> LazyRsa4096Chain = new(() =>
        CreateCa("OpenSslDtls Test RSA-4096 Root", KeyKind.Rsa4096)
            .IssueIntermediate("OpenSslDtls Test RSA-4096 Intermediate", KeyKind.Rsa4096)
            .Issue(KeyKind.Rsa4096));

    /// <summary>
    /// A localhost leaf signed by an RSA-4096 intermediate signed by an RSA-4096 root, all RSA-4096; made once
    /// per run. <see cref="TestCertificate.ChainPem"/> holds leaf and intermediate, <see cref="TestCertificate.TrustAnchor"/> the root.
    /// </summary>
    public static TestCertificate Rsa4096Chain => LazyRsa4096Chain.Value;

    /// <summary>
    /// A self-signed server certificate: CN=<paramref name="host"/>, SAN DNS <paramref name="host"/> and, for
    /// "localhost", IP 127.0.0.1 and ::1; serverAuth and clientAuth; valid from a day ago for 30 days.
    /// </summary>
    public static TestCertificate CreateSelfSigned(
        KeyKind keyKind = KeyKind.EcdsaP256,
        string host = DefaultHost,
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null)
    {
        using AsymmetricAlgorithm key = NewKey(keyKind);
        CertificateRequest request = Request($"CN={host}", key);
        AddLeafExtensions(request, keyKind, host, DefaultAddressesFor(host));
        using X509Certificate2 certificate = request.CreateSelfSigned(
            notBefore ?? DateTimeOffset.UtcNow.AddDays(-1),
            notAfter ?? DateTimeOffset.UtcNow.AddDays(30));
        return new TestCertificate(certificate.RawData, key.ExportPkcs8PrivateKey(), keyKind, isCertificateAuthority: false, issuer: null);
    }

    /// <summary>A self-signed root CA named CN=<paramref name="commonName"/>, valid from a year ago for two years.</summary>
    public static TestCertificate CreateCa(string commonName = "OpenSslDtls Test Root CA", KeyKind keyKind = KeyKind.EcdsaP256)
    {
        using AsymmetricAlgorithm key = NewKey(keyKind);
        CertificateRequest request = Request($"CN={commonName}", key);
        AddCaExtensions(request, pathLength: null);
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddYears(-1), DateTimeOffset.UtcNow.AddYears(1));
        return new TestCertificate(certificate.RawData, key.ExportPkcs8PrivateKey(), keyKind, isCertificateAuthority: true, issuer: null);
    }

    /// <summary>Parses a PEM certificate into an OpenSSL <c>X509*</c> (<c>BIO_new_mem_buf</c> + <c>PEM_read_bio_X509</c>).</summary>
    public static unsafe SafeX509Handle ReadX509(string pem)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(pem);
        fixed (byte* p = bytes)
        {
            ErrorQueue.Clear();
            using SafeBioHandle bio = ErrorQueue.ThrowIfInvalid(LibCrypto.BIO_new_mem_buf(p, bytes.Length), "BIO_new_mem_buf");
            return ErrorQueue.ThrowIfInvalid(LibCrypto.PEM_read_bio_X509(bio, 0, 0, 0), "PEM_read_bio_X509");
        }
    }

    /// <summary>Parses a PEM private key into an OpenSSL <c>EVP_PKEY*</c> (<c>BIO_new_mem_buf</c> + <c>PEM_read_bio_PrivateKey</c>).</summary>
    public static unsafe SafeEvpPKeyHandle ReadPrivateKey(string pem)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(pem);
        fixed (byte* p = bytes)
        {
            ErrorQueue.Clear();
            using SafeBioHandle bio = ErrorQueue.ThrowIfInvalid(LibCrypto.BIO_new_mem_buf(p, bytes.Length), "BIO_new_mem_buf");
            return ErrorQueue.ThrowIfInvalid(LibCrypto.PEM_read_bio_PrivateKey(bio, 0, 0, 0), "PEM_read_bio_PrivateKey");
        }
    }

    /// <summary>
    /// Makes <paramref name="certificate"/> the identity of <paramref name="context"/> from memory:
    /// <c>SSL_CTX_use_certificate</c>, <c>SSL_CTX_add1_chain_cert</c> per intermediate, <c>SSL_CTX_use_PrivateKey</c>,
    /// <c>SSL_CTX_check_private_key</c>. Throws <see cref="OpenSslException"/> on the first failure.
    /// </summary>
    public static void UseIdentity(SafeSslContextHandle context, TestCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ErrorQueue.Clear();
        using (SafeX509Handle x509 = certificate.ToOpenSslX509())
        {
            ErrorQueue.ThrowIfNotOne(LibSsl.SSL_CTX_use_certificate(context, x509), "SSL_CTX_use_certificate");
        }

        foreach (TestCertificate intermediate in certificate.Intermediates)
        {
            using SafeX509Handle x509 = intermediate.ToOpenSslX509();
            ErrorQueue.ThrowIfNotOne(LibSsl.SSL_CTX_add1_chain_cert(context, x509), "SSL_CTX_add1_chain_cert");
        }

        using (SafeEvpPKeyHandle key = certificate.ToOpenSslPrivateKey())
        {
            ErrorQueue.ThrowIfNotOne(LibSsl.SSL_CTX_use_PrivateKey(context, key), "SSL_CTX_use_PrivateKey");
        }

        ErrorQueue.ThrowIfNotOne(LibSsl.SSL_CTX_check_private_key(context), "SSL_CTX_check_private_key");
    }

    /// <summary>
    /// Makes the files of <see cref="TestCertificate.WritePem"/> the identity of <paramref name="context"/>, the blog's way:
    /// <c>SSL_CTX_use_certificate_chain_file</c>, <c>SSL_CTX_use_PrivateKey_file</c>, <c>SSL_CTX_check_private_key</c>.
    /// </summary>
    public static void UseIdentityFiles(SafeSslContextHandle context, TestPemFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        ErrorQueue.Clear();
        ErrorQueue.ThrowIfNotOne(LibSsl.SSL_CTX_use_certificate_chain_file(context, files.ChainFile), $"SSL_CTX_use_certificate_chain_file({files.ChainFile})");
        ErrorQueue.ThrowIfNotOne(LibSsl.SSL_CTX_use_PrivateKey_file(context, files.PrivateKeyFile, LibSsl.SSL_FILETYPE_PEM), $"SSL_CTX_use_PrivateKey_file({files.PrivateKeyFile})");
        ErrorQueue.ThrowIfNotOne(LibSsl.SSL_CTX_check_private_key(context), "SSL_CTX_check_private_key");
    }

    /// <summary>Adds the trust anchor of <paramref name="certificate"/> to the context's store (<c>X509_STORE_add_cert</c>).</summary>
    public static void Trust(SafeSslContextHandle context, TestCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using SafeX509Handle anchor = certificate.TrustAnchor.ToOpenSslX509();
        ErrorQueue.Clear();
        ErrorQueue.ThrowIfNotOne(LibCrypto.X509_STORE_add_cert(LibSsl.SSL_CTX_get_cert_store(context), anchor), "X509_STORE_add_cert");
    }

    /// <summary>Trusts the certificates of a PEM file (<c>SSL_CTX_load_verify_locations</c>).</summary>
    public static void TrustFile(SafeSslContextHandle context, string pemFile)
    {
        ErrorQueue.Clear();
        ErrorQueue.ThrowIfNotOne(LibSsl.SSL_CTX_load_verify_locations(context, pemFile, null), $"SSL_CTX_load_verify_locations({pemFile})");
    }

    internal static IEnumerable<IPAddress> DefaultAddressesFor(string host) =>
        host == DefaultHost ? [IPAddress.Loopback, IPAddress.IPv6Loopback] : [];

    internal static TestCertificate IssueLeaf(
        TestCertificate issuer,
        KeyKind keyKind,
        string host,
        IEnumerable<IPAddress> addresses,
        DateTimeOffset? notBefore,
        DateTimeOffset? notAfter)
    {
        using AsymmetricAlgorithm key = NewKey(keyKind);
        CertificateRequest request = Request($"CN={host}", key);
        AddLeafExtensions(request, keyKind, host, addresses);
        byte[] der = Sign(request, issuer, notBefore ?? DateTimeOffset.UtcNow.AddDays(-1), notAfter ?? DateTimeOffset.UtcNow.AddDays(30));
        return new TestCertificate(der, key.ExportPkcs8PrivateKey(), keyKind, isCertificateAuthority: false, issuer);
    }

    internal static TestCertificate IssueIntermediate(TestCertificate issuer, string commonName, KeyKind keyKind)
    {
        using AsymmetricAlgorithm key = NewKey(keyKind);
        CertificateRequest request = Request($"CN={commonName}", key);
        AddCaExtensions(request, pathLength: 0);
        byte[] der = Sign(request, issuer, DateTimeOffset.UtcNow.AddDays(-180), DateTimeOffset.UtcNow.AddDays(180));
        return new TestCertificate(der, key.ExportPkcs8PrivateKey(), keyKind, isCertificateAuthority: true, issuer);
    }

    private static byte[] Sign(CertificateRequest request, TestCertificate issuer, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        if (!issuer.IsCertificateAuthority)
        {
            throw new ArgumentException($"{issuer.Subject} is not a CA.", nameof(issuer));
        }

        using X509Certificate2 issuerCertificate = issuer.ToPublicX509Certificate2();
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuerCertificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using AsymmetricAlgorithm issuerKey = issuer.CreatePrivateKey();
        X509SignatureGenerator generator = issuerKey switch
        {
            ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
            RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
            _ => throw new NotSupportedException(issuerKey.GetType().Name),
        };

        // The generator overload (not Create(X509Certificate2 issuer, ...)) lets a leaf's validity lie outside
        // its issuer's, which the expired-certificate cases need.
        using X509Certificate2 issued = request.Create(issuerCertificate.SubjectName, generator, notBefore, notAfter, SerialNumber());
        return issued.RawData;
    }

    private static void AddLeafExtensions(CertificateRequest request, KeyKind keyKind, string host, IEnumerable<IPAddress> addresses)
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        foreach (IPAddress address in addresses)
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        X509KeyUsageFlags usage = keyKind == KeyKind.EcdsaP256
            ? X509KeyUsageFlags.DigitalSignature
            : X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment;
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuth), new Oid(ClientAuth)], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
    }

    private static void AddCaExtensions(CertificateRequest request, int? pathLength)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(
            certificateAuthority: true, hasPathLengthConstraint: pathLength is not null, pathLengthConstraint: pathLength ?? 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
    }

    private static CertificateRequest Request(string subject, AsymmetricAlgorithm key) => key switch
    {
        ECDsa ec => new CertificateRequest(subject, ec, HashAlgorithmName.SHA256),
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new NotSupportedException(key.GetType().Name),
    };

    private static AsymmetricAlgorithm NewKey(KeyKind keyKind)
    {
        switch (keyKind)
        {
            case KeyKind.EcdsaP256:
                return ECDsa.Create(ECCurve.NamedCurves.nistP256);
            case KeyKind.Rsa2048:
                return RSA.Create(2048);
            case KeyKind.Rsa4096:
                int slot = (int)((uint)Interlocked.Increment(ref _nextRsa4096Key) % Rsa4096PoolSize);
                var rsa = RSA.Create();
                rsa.ImportPkcs8PrivateKey(Rsa4096Keys.Value[slot], out _);
                return rsa;
            default:
                throw new ArgumentOutOfRangeException(nameof(keyKind), keyKind, null);
        }
    }

    private static byte[][] CreateRsa4096Pool()
    {
        var keys = new byte[Rsa4096PoolSize][];
        Parallel.For(0, Rsa4096PoolSize, i =>
        {
            using var rsa = RSA.Create(4096);
            keys[i] = rsa.ExportPkcs8PrivateKey();
        });
        return keys;
    }

    private static byte[] SerialNumber()
    {
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive INTEGER (RFC 5280 §4.1.2.2)
        serial[0] |= 0x01; // and no leading zero octet
        return serial;
    }
}
