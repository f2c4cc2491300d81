using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Samples.Tests.Coap;

/// <summary>
/// werift-dtls, the DTLS of a TypeScript WebRTC stack (ECDHE-ECDSA/RSA with AES-128-GCM only), as
/// client and as server against our library in-process: certificates seen byte for byte on both
/// sides, and DTLS-SRTP keying material ("EXTRACTOR-dtls_srtp", RFC 5764 §4.2) compared byte for byte.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class WeriftTests : CoapTestBase
{
    private const string SrtpLabel = "EXTRACTOR-dtls_srtp";

    /// <summary>werift's profile number, the OpenSSL name, and the SRTP keying material length: 2 × (key + salt), RFC 5764 §4.2 / RFC 7714 §12.</summary>
    public static readonly object[] SrtpCases =
    [
        new object[] { 0, "none", 64 }, // no SRTP: RFC 5705 export alone
        new object[] { 1, "SRTP_AES128_CM_SHA1_80", 60 },
        new object[] { 7, "SRTP_AEAD_AES_128_GCM", 56 },
    ];

    [TestCaseSource(nameof(SrtpCases))]
    public async Task Werift_client_and_our_listener_agree_on_certificates_and_srtp_keys(int profile, string profileName, int exportLength)
    {
        (string node, string script) = JsPeers.Require("werift-peer.js");
        await using var server = InProcessEchoServer.Start(new DtlsServerOptions
        {
            CertificateChainFile = Pki.ServerCertificateFile,
            PrivateKeyFile = Pki.ServerKeyFile,
            CaFile = Pki.CaFile,
            RequireClientCertificate = true, // werift has a certificate to send (without one it crashes, PEERS.md)
            SrtpProfiles = profile == 0 ? [] : [profileName],
        }, ExchangeTimeout);

        PeerProcess run = await RunAsync(node, [script, "--role", "client", "--port", Text(server.Port), "--cert", Pki.ClientCertificateFile, "--key", Pki.ClientKeyFile,
            "--message", "hello werift", "--export-length", Text(exportLength), .. SrtpArguments(profile)]);
        JsonElement result = JsPeers.Result(run);
        Assert.That(result.GetProperty("ok").GetBoolean(), Is.True, run.Report());
        (DtlsSession session, _) = await server.Echoed.WaitAsync(ExchangeTimeout);

        Assert.Multiple(() =>
        {
            Assert.That(result.GetProperty("echo").GetString(), Is.EqualTo("hello werift"));
            Assert.That(session.CipherSuite, Is.EqualTo("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"));
            AssertSrtp(session, result, profile, profileName);
            Assert.That(Hex(session.ExportKeyingMaterial(SrtpLabel, exportLength)), Is.EqualTo(result.GetProperty("keyingMaterial").GetString()), "exported keying material");
            Assert.That(result.GetProperty("peerCertificateSha256").GetString(), Is.EqualTo(Sha256OfPem(Pki.ServerCertificateFile)), "the certificate werift received");
            Assert.That(Hex(SHA256.HashData(session.RemoteCertificate!.RawData)), Is.EqualTo(Sha256OfPem(Pki.ClientCertificateFile)), "the certificate we received");
        });
    }

    [Test]
    public async Task Our_client_and_werift_server_agree_on_certificates_and_srtp_keys(
        [ValueSource(nameof(SrtpCases))] object[] srtp, [Values] bool mutual)
    {
        (int profile, string profileName, int exportLength) = ((int)srtp[0], (string)srtp[1], (int)srtp[2]);
        (_, string script) = JsPeers.Require("werift-peer.js");
        (PeerProcess werift, JsonElement result, DtlsSession session, string echo) = await ExchangeWithWeriftServerAsync(
            [script, "--role", "server", "--cert", Pki.ServerCertificateFile, "--key", Pki.ServerKeyFile,
                "--export-length", Text(exportLength), "--request-client-cert", mutual ? "true" : "false", .. SrtpArguments(profile)],
            new DtlsClientOptions
            {
                CaFile = Pki.CaFile,
                TargetHost = "localhost",
                CertificateChainFile = mutual ? Pki.ClientCertificateFile : null,
                PrivateKeyFile = mutual ? Pki.ClientKeyFile : null,
                SrtpProfiles = profile == 0 ? [] : [profileName],
            });
        await using DtlsSession closing = session;

        Assert.That(result.GetProperty("ok").GetBoolean(), Is.True, werift.Report());
        Assert.Multiple(() =>
        {
            Assert.That(echo, Is.EqualTo("hello from .NET"));
            Assert.That(session.CipherSuite, Is.EqualTo("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"));
            AssertSrtp(session, result, profile, profileName);
            Assert.That(Hex(session.ExportKeyingMaterial(SrtpLabel, exportLength)), Is.EqualTo(result.GetProperty("keyingMaterial").GetString()), "exported keying material");
            Assert.That(Hex(SHA256.HashData(session.RemoteCertificate!.RawData)), Is.EqualTo(Sha256OfPem(Pki.ServerCertificateFile)), "the certificate we received");
            Assert.That(result.GetProperty("peerCertificateSha256").GetString(), Is.EqualTo(mutual ? Sha256OfPem(Pki.ClientCertificateFile) : null), "the certificate werift received");
        });
    }

    [Test]
    public async Task Werift_client_reaches_our_listener_with_an_rsa_certificate()
    {
        (string node, string script) = JsPeers.Require("werift-peer.js");
        (string certificate, string key) = RsaCertificate.Value;
        await using var server = InProcessEchoServer.Start(new DtlsServerOptions { CertificateChainFile = certificate, PrivateKeyFile = key }, ExchangeTimeout);

        PeerProcess run = await RunAsync(node, script, "--role", "client", "--port", Text(server.Port), "--cert", Pki.ClientCertificateFile, "--key", Pki.ClientKeyFile,
            "--message", "rsa", "--export-length", "64");
        JsonElement result = JsPeers.Result(run);
        Assert.That(result.GetProperty("ok").GetBoolean(), Is.True, run.Report());
        (DtlsSession session, _) = await server.Echoed.WaitAsync(ExchangeTimeout);

        Assert.Multiple(() =>
        {
            Assert.That(session.CipherSuite, Is.EqualTo("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
            Assert.That(result.GetProperty("echo").GetString(), Is.EqualTo("rsa"));
            Assert.That(result.GetProperty("peerCertificateSha256").GetString(), Is.EqualTo(Sha256OfPem(certificate)));
            Assert.That(Hex(session.ExportKeyingMaterial(SrtpLabel, 64)), Is.EqualTo(result.GetProperty("keyingMaterial").GetString()));
        });
    }

    [Test]
    public async Task Our_client_reaches_werift_server_with_an_rsa_certificate()
    {
        (_, string script) = JsPeers.Require("werift-peer.js");
        (string certificate, string key) = RsaCertificate.Value;
        (PeerProcess werift, JsonElement result, DtlsSession session, string echo) = await ExchangeWithWeriftServerAsync(
            [script, "--role", "server", "--cert", certificate, "--key", key, "--signature", "rsa", "--export-length", "64"],
            new DtlsClientOptions { PinnedCertificateSha256 = [Sha256OfPem(certificate)], TargetHost = "localhost" });
        await using DtlsSession closing = session;

        Assert.That(result.GetProperty("ok").GetBoolean(), Is.True, werift.Report());
        Assert.Multiple(() =>
        {
            Assert.That(session.CipherSuite, Is.EqualTo("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
            Assert.That(echo, Is.EqualTo("hello from .NET"));
            Assert.That(Hex(session.ExportKeyingMaterial(SrtpLabel, 64)), Is.EqualTo(result.GetProperty("keyingMaterial").GetString()));
        });
    }

    /// <summary>Starts werift-peer.js as a server, connects our client, sends one datagram, reads the echo and waits for werift's result line.</summary>
    private async Task<(PeerProcess Werift, JsonElement Result, DtlsSession Session, string Echo)> ExchangeWithWeriftServerAsync(string[] arguments, DtlsClientOptions options)
    {
        (string node, _) = JsPeers.Require("werift-peer.js");
        PeerProcess werift = Start(node, arguments);
        using JsonDocument listening = JsonDocument.Parse(await werift.WaitForOutputLineAsync("{\"listening\":", StartupTimeout));
        using var timeout = new CancellationTokenSource(ExchangeTimeout);
        DtlsSession session = await DtlsClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, listening.RootElement.GetProperty("listening").GetInt32()), options, timeout.Token);
        await session.SendAsync("hello from .NET"u8.ToArray(), timeout.Token);
        byte[] buffer = new byte[2048];
        int received = await session.ReceiveAsync(buffer, timeout.Token);
        await werift.WaitForExitAsync(ExchangeTimeout);
        return (werift, JsPeers.Result(werift), session, Encoding.UTF8.GetString(buffer, 0, received));
    }

    /// <summary>A self-signed RSA-2048 certificate for localhost (PEM files in the run's scratch directory): werift's other suite.</summary>
    private static readonly Lazy<(string Certificate, string Key)> RsaCertificate = new(() =>
    {
        string directory = Directory.CreateDirectory(Path.Combine(Repository.Scratch, "rsa")).FullName;
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        (string certificateFile, string keyFile) = (Path.Combine(directory, "rsa.pem"), Path.Combine(directory, "rsa.key"));
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        return (certificateFile, keyFile);
    });

    private static string[] SrtpArguments(int profile) => profile == 0 ? [] : ["--srtp", Text(profile)];

    private static void AssertSrtp(DtlsSession session, JsonElement result, int profile, string profileName)
    {
        JsonElement theirs = result.GetProperty("srtpProfile");
        Assert.That(session.SrtpProfile, Is.EqualTo(profile == 0 ? null : profileName));
        Assert.That(theirs.ValueKind == JsonValueKind.Null ? 0 : theirs.GetInt32(), Is.EqualTo(profile));
    }

    private static string Sha256OfPem(string file)
    {
        using X509Certificate2 certificate = X509Certificate2.CreateFromPem(File.ReadAllText(file));
        return Hex(SHA256.HashData(certificate.RawData));
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
