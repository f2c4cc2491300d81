using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OpenSslDtls.Interop.Tests.Support;

/// <summary>One end-entity credential as the peers read it: PEM chain (leaf first) and PKCS#8 key files, and the DER for BouncyCastle.</summary>
public sealed record Credential(string ChainFile, string KeyFile, IReadOnlyList<byte[]> ChainDer, byte[] Pkcs8Key, bool IsRsa)
{
    /// <summary>The leaf certificate's DER.</summary>
    public byte[] LeafDer => ChainDer[0];
}

/// <summary>
/// The throwaway PKI every row uses, written once per run under <see cref="Repository.Scratch"/>: a root
/// CA (ECDSA P-256) that signs an ECDSA and an RSA server certificate (names localhost, 127.0.0.1, ::1),
/// a client certificate, a server and a client certificate under two RSA-4096 intermediates (chains
/// of about 4 KB: every handshake flight that carries them is fragmented at any MTU), and a client
/// certificate from an unrelated CA that servers must refuse.
/// </summary>
public sealed class InteropPki
{
    private static readonly Lazy<InteropPki> LazyShared = new(() => new InteropPki(Path.Combine(Repository.Scratch, "interop-pki")));

    private readonly string _directory;

    private InteropPki(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 root = SelfSignedCa("CN=OpenSslDtls Interop Root", rootKey);
        CaFile = Write("ca.pem", root.ExportCertificatePem());

        EcdsaServer = Issue("server-ecdsa", root, rootKey, [], "CN=localhost", server: true, rsaBits: 0);
        RsaServer = Issue("server-rsa", root, rootKey, [], "CN=localhost", server: true, rsaBits: 2048);
        Client = Issue("client", root, rootKey, [], "CN=interop-client.test", server: false, rsaBits: 0);

        // Two RSA-4096 intermediates: each certificate is ~1.4 KB, so a chain is ~4 KB.
        using RSA firstKey = RSA.Create(4096);
        using X509Certificate2 first = IssueCa("CN=OpenSslDtls Interop Intermediate 1", firstKey, root, rootKey);
        using RSA secondKey = RSA.Create(4096);
        using X509Certificate2 second = IssueCa("CN=OpenSslDtls Interop Intermediate 2", secondKey, first, firstKey);
        LargeChainServer = Issue("server-large", second, secondKey, [second, first], "CN=localhost", server: true, rsaBits: 2048);
        LargeChainClient = Issue("client-large", second, secondKey, [second, first], "CN=interop-client.test", server: false, rsaBits: 2048);

        using var rogueKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 rogue = SelfSignedCa("CN=Unrelated CA", rogueKey);
        UntrustedClient = Issue("client-untrusted", rogue, rogueKey, [], "CN=rogue-client.test", server: false, rsaBits: 0);
    }

    public static InteropPki Shared => LazyShared.Value;

    /// <summary>The directory holding every file (shown as <c>$PKI</c> in docs/interop.md).</summary>
    public string Folder => _directory;

    public string CaFile { get; }

    public Credential EcdsaServer { get; }

    public Credential RsaServer { get; }

    public Credential Client { get; }

    public Credential LargeChainServer { get; }

    public Credential LargeChainClient { get; }

    public Credential UntrustedClient { get; }

    private static X509Certificate2 SelfSignedCa(string subject, ECDsa key)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        AddCaExtensions(request);
        return request.CreateSelfSigned(now.AddHours(-1), now.AddDays(2));
    }

    private static X509Certificate2 IssueCa(string subject, RSA key, X509Certificate2 issuer, AsymmetricAlgorithm issuerKey)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        AddCaExtensions(request);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        using X509Certificate2 signed = request.Create(issuer.SubjectName, Generator(issuerKey), now.AddHours(-1), now.AddDays(2), RandomNumberGenerator.GetBytes(8));
        return signed.CopyWithPrivateKey(key);
    }

    private static void AddCaExtensions(CertificateRequest request)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
    }

    private static X509SignatureGenerator Generator(AsymmetricAlgorithm key) => key switch
    {
        ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
        RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
        _ => throw new ArgumentException("unsupported issuer key", nameof(key)),
    };

    private Credential Issue(string name, X509Certificate2 issuer, AsymmetricAlgorithm issuerKey, X509Certificate2[] intermediates, string subject, bool server, int rsaBits)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using AsymmetricAlgorithm key = rsaBits > 0 ? RSA.Create(rsaBits) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CertificateRequest request = key is RSA rsa
            ? new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(subject, (ECDsa)key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        if (server)
        {
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            names.AddIpAddress(IPAddress.IPv6Loopback);
        }
        else
        {
            names.AddDnsName(subject["CN=".Length..]);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            key is RSA ? X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        using X509Certificate2 leaf = request.Create(issuer.SubjectName, Generator(issuerKey), now.AddMinutes(-30), now.AddDays(1), RandomNumberGenerator.GetBytes(8));

        byte[][] chain = [leaf.RawData, .. intermediates.Select(c => c.RawData)];
        string chainFile = Write(name + ".pem", string.Join('\n', chain.Select(der => PemEncoding.WriteString("CERTIFICATE", der))));
        byte[] pkcs8 = key is RSA r ? r.ExportPkcs8PrivateKey() : ((ECDsa)key).ExportPkcs8PrivateKey();
        string keyFile = Write(name + ".key", PemEncoding.WriteString("PRIVATE KEY", pkcs8));
        return new Credential(chainFile, keyFile, chain, pkcs8, key is RSA);
    }

    private string Write(string name, string pem)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, pem + "\n");
        return path;
    }
}
