using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.Tests;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// The default cipher suites are AEAD only in every mode: openssl s_client forcing each suite shows
/// what our server accepts and refuses; our client against s_server forcing legacy suites refuses them.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CipherPolicyPeerTests : CommandLinePeers
{
    private static readonly byte[] Key = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");

    [TestCase("ECDHE-PSK-CHACHA20-POLY1305", "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256")]
    [TestCase("PSK-AES128-GCM-SHA256", "TLS_PSK_WITH_AES_128_GCM_SHA256")]
    [TestCase("PSK-AES256-GCM-SHA384", "TLS_PSK_WITH_AES_256_GCM_SHA384")]
    [TestCase("PSK-CHACHA20-POLY1305", "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256")]
    [TestCase("PSK-AES128-CCM", "TLS_PSK_WITH_AES_128_CCM")]
    [TestCase("PSK-AES256-CCM", "TLS_PSK_WITH_AES_256_CCM")]
    [TestCase("PSK-AES128-CCM8", "TLS_PSK_WITH_AES_128_CCM_8")]
    [TestCase("PSK-AES256-CCM8", "TLS_PSK_WITH_AES_256_CCM_8")]
    [CancelAfter(60_000)]
    public async Task Every_default_PSK_suite_is_accepted_from_openssl_s_client(string openSslName, string ianaName)
    {
        await using var listener = EchoListener.Start(new DtlsServerOptions { PskKeyLookup = _ => Key });

        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-quiet", "-connect", $"127.0.0.1:{listener.Port}", "-psk_identity", "device", "-psk", Convert.ToHexString(Key), "-cipher", PeerCipher(openSslName));
        client.Write("aead\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("aead", StringComparison.Ordinal), Bound, "the echo");

        Assert.That((await listener.NextSessionAsync(Bound)).CipherSuite, Is.EqualTo(ianaName));
    }

    [TestCase(KeyKind.EcdsaP256, "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")]
    [TestCase(KeyKind.EcdsaP256, "ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")]
    [TestCase(KeyKind.EcdsaP256, "ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256")]
    [TestCase(KeyKind.Rsa2048, "ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")]
    [TestCase(KeyKind.Rsa2048, "ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")]
    [CancelAfter(60_000)]
    public async Task Every_default_certificate_suite_is_accepted_from_openssl_s_client(KeyKind keyKind, string openSslName, string ianaName)
    {
        using X509Certificate2 certificate = TestPki.CreateSelfSigned(keyKind).ToX509Certificate2();
        await using var listener = EchoListener.Start(new DtlsServerOptions { Certificate = certificate });

        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-quiet", "-connect", $"127.0.0.1:{listener.Port}", "-cipher", openSslName);
        client.Write("aead\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("aead", StringComparison.Ordinal), Bound, "the echo");

        AcceptedSession session = await listener.NextSessionAsync(Bound);
        Assert.Multiple(() =>
        {
            Assert.That(session.CipherSuite, Is.EqualTo(ianaName));
            Assert.That(session.PskIdentity, Is.Null, "no PSK identity on a certificate session");
        });
    }

    // CBC (with PSK, ECDHE-PSK and ECDHE certificates), NULL, static RSA and DHE: each forced on s_client alone.
    [TestCase(null, "PSK-AES128-CBC-SHA256")]
    [TestCase(null, "ECDHE-PSK-AES128-CBC-SHA256")]
    [TestCase(null, "PSK-NULL-SHA256:@SECLEVEL=0")]
    [TestCase(null, "DHE-PSK-AES128-GCM-SHA256")]
    [TestCase(KeyKind.EcdsaP256, "ECDHE-ECDSA-AES128-SHA256")]
    [TestCase(KeyKind.Rsa2048, "ECDHE-RSA-AES128-SHA")]
    [TestCase(KeyKind.Rsa2048, "AES128-GCM-SHA256")]
    [TestCase(KeyKind.Rsa2048, "DHE-RSA-AES128-GCM-SHA256")]
    [CancelAfter(60_000)]
    public async Task Legacy_suites_forced_on_openssl_s_client_are_refused_with_handshake_failure(KeyKind? keyKind, string cipher)
    {
        // A server with both a certificate and PSK, so that nothing but the suite policy can refuse.
        using X509Certificate2 certificate = TestPki.CreateSelfSigned(keyKind ?? KeyKind.EcdsaP256).ToX509Certificate2();
        int clientPort = FreeUdpPort();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Connect(new IPEndPoint(IPAddress.Loopback, clientPort));
        using var context = new DtlsContext(new DtlsServerOptions { Certificate = certificate, PskKeyLookup = _ => Key });
        await using var session = new DtlsSession(context, socket);
        Task accept = session.AcceptAsync().AsTask();

        int serverPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-bind", $"127.0.0.1:{clientPort}", "-connect", $"127.0.0.1:{serverPort}", "-psk_identity", "device", "-psk", Convert.ToHexString(Key), "-cipher", cipher);
        client.Write("never\n");

        DtlsException? refused = null;
        try
        {
            await accept.WaitAsync(Bound);
        }
        catch (DtlsException e)
        {
            refused = e;
        }

        await client.WaitUntilAsync(p => p.StandardError.Contains("handshake failure", StringComparison.Ordinal), Bound, "s_client told of the handshake failure");
        Assert.That(refused, Is.Not.Null, client.Report());
        Assert.That(refused!.ToString(), Does.Contain("no shared cipher"), client.Report());
        Assert.That(refused.Alert?.Description, Is.EqualTo(40), "handshake_failure sent");
    }

    [TestCase("ECDHE-ECDSA-AES128-SHA")]
    [TestCase("ECDHE-ECDSA-AES256-SHA384")]
    [TestCase("ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0")]
    [CancelAfter(60_000)]
    public async Task Our_client_refuses_an_openssl_s_server_that_only_offers_a_legacy_suite(string cipher)
    {
        TestCertificate identity = TestPki.CreateSelfSigned(KeyKind.EcdsaP256);
        using var files = TempDirectory.Create("cipher");
        TestPemFiles pem = identity.WritePem(files.Path);
        (PeerProcess server, IPEndPoint endpoint) = await StartOpenSslServerAsync("-cert", pem.CertificateFile, "-key", pem.PrivateKeyFile, "-cipher", cipher);
        string pin = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(identity.RawData.Span));

        DtlsException refused = Assert.ThrowsAsync<DtlsException>(async () =>
            await (await DtlsClient.ConnectAsync(endpoint, new DtlsClientOptions { PinnedCertificateSha256 = [pin] })).DisposeAsync())!;
        Assert.That(refused.Alert?.Description, Is.EqualTo(40), $"{refused}\n{server.Report()}");

        // Allowed explicitly, the same suite works.
        string openSslName = cipher.Split(':')[0];
        await using DtlsSession session = await DtlsClient.ConnectAsync(endpoint, new DtlsClientOptions
        {
            PinnedCertificateSha256 = [pin],
            CipherList = cipher,
            InsecureAllowLegacyCipherSuites = true,
        });
        Assert.That(session.CipherSuite, Does.StartWith("TLS_ECDHE_ECDSA_WITH_").And.Not.Contain("GCM"), openSslName);
    }

    /// <summary>The peer's own -cipher: OpenSSL 3.2+ rate CCM_8 below security level 1, so a peer that offers only CCM_8 asks for level 0 itself.</summary>
    private static string PeerCipher(string openSslName) => openSslName.Contains("CCM8", StringComparison.Ordinal) ? $"{openSslName}:@SECLEVEL=0" : openSslName;
}
