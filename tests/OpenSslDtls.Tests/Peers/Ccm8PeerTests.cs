using System.Net;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.Tests;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// TLS_PSK_WITH_AES_128_CCM_8, CoAP's mandatory suite (RFC 7252 §9.1.3.1), with our default PSK
/// lists, against openssl s_client and s_server. OpenSSL 3.2 and newer rate CCM_8 below security
/// level 1: the peers here ask for level 0 themselves (their own configuration); our PSK-only
/// contexts must get there without the application touching anything. The OpenSSL version matrix
/// runs this against 3.5, 3.6 and 4.0 too.
/// </summary>
public sealed class Ccm8PeerTests : CommandLinePeers
{
    private static readonly byte[] Key = Convert.FromHexString("00112233445566778899aabbccddeeff");

    [Test]
    [CancelAfter(60_000)]
    public async Task Openssl_s_client_with_only_CCM_8_reaches_a_default_psk_server()
    {
        await using var listener = EchoListener.Start(new DtlsServerOptions { PskKeyLookup = request => request.IdentityText == "coap-device" ? Key : null });
        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-quiet", "-connect", $"127.0.0.1:{listener.Port}",
            "-psk_identity", "coap-device", "-psk", Convert.ToHexString(Key), "-cipher", "PSK-AES128-CCM8:@SECLEVEL=0");
        client.Write("ccm8 hello\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("ccm8 hello", StringComparison.Ordinal), Bound, "the echo through s_client");
        AcceptedSession session = await listener.NextSessionAsync(Bound, client.Report());
        Assert.That(session.CipherSuite, Is.EqualTo("TLS_PSK_WITH_AES_128_CCM_8"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_default_psk_client_reaches_openssl_s_server_that_offers_only_CCM_8()
    {
        (PeerProcess server, IPEndPoint endpoint) = await StartOpenSslServerAsync("-nocert", "-psk", Convert.ToHexString(Key), "-psk_identity", "coap-device", "-cipher", "PSK-AES128-CCM8:@SECLEVEL=0");
        await using DtlsSession session = await DtlsClient.ConnectAsync(endpoint, new DtlsClientOptions { PskIdentityText = "coap-device", PskKey = Key });
        await session.SendAsync("ccm8 to s_server\n"u8.ToArray());
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("ccm8 to s_server", StringComparison.Ordinal), Bound, "the message on s_server");
        Assert.That(session.CipherSuite, Is.EqualTo("TLS_PSK_WITH_AES_128_CCM_8"));
    }
}
