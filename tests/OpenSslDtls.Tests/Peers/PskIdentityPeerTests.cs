using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.Tests;
using Org.BouncyCastle.Tls;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// PSK identities are bytes end to end (RFC 4279 §5.1), proven with peers nobody here wrote:
/// openssl s_client and s_server, gnutls-cli and BouncyCastle.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PskIdentityPeerTests : CommandLinePeers
{
    private static readonly byte[] Key = Convert.FromHexString("00112233445566778899aabbccddeeff");

    // Pairs that a lossy UTF-8 decoding maps to one string (ff01/fe01 both became U+FFFD U+0001), and valid UTF-8.
    [TestCase("ff01", "fe01")]
    [TestCase("c328", "c329")]
    [TestCase("80", "81")]
    [TestCase("41ff42", "41fe42")]
    [TestCase("c3a9", "c3a8")]
    [CancelAfter(60_000)]
    public async Task Binary_identities_from_openssl_s_client_reach_the_lookup_as_distinct_bytes(string registeredHex, string strangerHex)
    {
        byte[] registered = Convert.FromHexString(registeredHex);
        var requests = new ConcurrentQueue<DtlsPskRequest>();
        await using var listener = EchoListener.Start(new DtlsServerOptions
        {
            PskKeyLookup = request =>
            {
                requests.Enqueue(request);
                return request.Identity.Span.SequenceEqual(registered) ? Key : null;
            },
        });

        PeerProcess good = StartShell($"{OpenSsl} s_client -dtls1_2 -quiet -connect 127.0.0.1:{listener.Port} -psk_identity \"$(printf '{Escape(registeredHex)}')\" -psk {Convert.ToHexString(Key)}");
        good.Write("hello\n");
        await good.WaitUntilAsync(p => p.StandardOutput.Contains("hello", StringComparison.Ordinal), Bound, "the echo through s_client");
        AcceptedSession session = await listener.NextSessionAsync(Bound, good.Report());

        PeerProcess stranger = StartShell($"{OpenSsl} s_client -dtls1_2 -quiet -connect 127.0.0.1:{listener.Port} -psk_identity \"$(printf '{Escape(strangerHex)}')\" -psk {Convert.ToHexString(Key)}");
        stranger.Write("hello\n");
        await stranger.WaitUntilAsync(p => p.StandardError.Contains("unknown psk identity", StringComparison.Ordinal), Bound, "s_client told of the unknown identity");

        DtlsPskRequest[] seen = [.. requests];
        Assert.Multiple(() =>
        {
            Assert.That(seen.Select(r => Convert.ToHexStringLower(r.Identity.Span)), Is.EqualTo(new[] { registeredHex, strangerHex }));
            Assert.That(seen.Select(r => ((IPEndPoint)r.RemoteEndPoint!).Address), Is.All.EqualTo(IPAddress.Loopback));
            Assert.That(seen[0].IdentityText, Is.EqualTo(StrictText(registered)), "text only when the bytes are valid UTF-8");
            Assert.That(session.PskIdentity, Is.EqualTo(registered));
            Assert.That(listener.HasAcceptedSession, Is.False, "the stranger got no session");
        });
    }

    [TestCase(TlsCipherSuite.PskAes128Ccm8)]
    [TestCase(TlsCipherSuite.PskAes128Gcm)]
    [CancelAfter(60_000)]
    public async Task Identities_with_zero_bytes_from_BouncyCastle_reach_the_lookup_whole(int cipherSuite)
    {
        // OpenSSL hands the server callback a C string; the exact bytes come from the ClientKeyExchange.
        byte[][] identities = [[0x61, 0x62, 0x00, 0x63, 0x64], [0x61, 0x62, 0x00, 0x63, 0x65], [0x00], [0x00, 0x01], [0x61, 0x00]];
        var requests = new ConcurrentQueue<byte[]>();
        await using var listener = EchoListener.Start(new DtlsServerOptions
        {
            PskKeyLookup = request =>
            {
                requests.Enqueue(request.Identity.ToArray());
                return request.Identity.Span.SequenceEqual(identities[0]) ? Key : null;
            },
        });

        (byte[] echo, int negotiated) = await Task.Run(() => BouncyCastlePskClient.Echo(listener.EndPoint, identities[0], Key, cipherSuite, "zero inside"u8.ToArray(), Bound));
        foreach (byte[] other in identities.Skip(1))
        {
            Assert.That(() => BouncyCastlePskClient.Echo(listener.EndPoint, other, Key, cipherSuite, [1], Bound), Throws.InstanceOf<TlsFatalAlertReceived>(), Hex(other));
        }

        Assert.Multiple(() =>
        {
            Assert.That(echo, Is.EqualTo("zero inside"u8.ToArray()));
            Assert.That(negotiated, Is.EqualTo(cipherSuite));
            Assert.That(requests.Select(Convert.ToHexStringLower), Is.EqualTo(identities.Select(Convert.ToHexStringLower)));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Gnutls_cli_pskusername_reaches_the_lookup_and_CCM_8_is_accepted_by_default()
    {
        var requests = new ConcurrentQueue<DtlsPskRequest>();
        await using var listener = EchoListener.Start(new DtlsServerOptions
        {
            PskKeyLookup = request =>
            {
                requests.Enqueue(request);
                return request.IdentityText == "lwm2m-device-ü" ? Key : null;
            },
        });

        // TLS_PSK_WITH_AES_128_CCM_8 only: the suite CoAP (RFC 7252 §9.1.3.1) and LwM2M devices implement.
        PeerProcess client = Start(GnutlsCli, "--udp", "-p", listener.Port, "127.0.0.1", "--pskusername=lwm2m-device-ü", $"--pskkey={Convert.ToHexString(Key)}",
            "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CCM-8:-MAC-ALL:+AEAD");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("Handshake was completed", StringComparison.Ordinal), Bound, "gnutls-cli's handshake");
        client.Write("hello gnutls\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("hello gnutls", StringComparison.Ordinal), Bound, "the echo through gnutls-cli");
        AcceptedSession session = await listener.NextSessionAsync(Bound, client.Report());

        Assert.Multiple(() =>
        {
            Assert.That(requests.Select(r => Hex(r.Identity.Span)), Is.EqualTo(new[] { Hex(Encoding.UTF8.GetBytes("lwm2m-device-ü")) }));
            Assert.That(session.CipherSuite, Is.EqualTo("TLS_PSK_WITH_AES_128_CCM_8"));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_client_identity_of_the_maximum_length_reaches_openssl_s_server_exactly()
    {
        // Printable, so that s_server's -psk_identity can name it; s_server warns when the identity it got differs.
        string identity = string.Concat(Enumerable.Range(0, DtlsPskLimits.MaxIdentityBytes).Select(i => (char)('a' + (i % 26))));
        (PeerProcess server, IPEndPoint endpoint) = await StartOpenSslServerAsync("-nocert", "-psk", Convert.ToHexString(Key), "-psk_identity", identity, "-cipher", "PSK-AES128-CCM8:@SECLEVEL=0");

        await using DtlsSession session = await DtlsClient.ConnectAsync(endpoint, new DtlsClientOptions { PskIdentityText = identity, PskKey = Key });
        await session.SendAsync("max identity\n"u8.ToArray());
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("max identity", StringComparison.Ordinal), Bound, "the message on s_server");

        Assert.Multiple(() =>
        {
            Assert.That(server.StandardOutput, Does.Not.Contain("PSK warning"), server.Report());
            Assert.That(session.CipherSuite, Is.EqualTo("TLS_PSK_WITH_AES_128_CCM_8"));
            Assert.That(session.PskIdentity?.ToArray(), Is.EqualTo(Encoding.ASCII.GetBytes(identity)));
        });
        Assert.That(
            () => new DtlsContext(new DtlsClientOptions { PskIdentityText = identity + "z", PskKey = Key }),
            Throws.ArgumentException.With.Message.Contains($"at most {DtlsPskLimits.MaxIdentityBytes}").And.Message.Contains("PSK_MAX_IDENTITY_LEN"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Binary_client_identity_reaches_openssl_s_server()
    {
        // s_server compares the identity it received with -psk_identity as C strings and warns when they differ.
        byte[] identity = [0xc3, 0xa9, 0x7f, 0x01];
        (PeerProcess server, IPEndPoint endpoint) = await StartOpenSslServerAsync("-nocert", "-psk", Convert.ToHexString(Key), "-psk_identity", Encoding.UTF8.GetString(identity));

        await using DtlsSession session = await DtlsClient.ConnectAsync(endpoint, new DtlsClientOptions { PskIdentity = identity, PskKey = Key });
        await session.SendAsync("binary\n"u8.ToArray());
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("binary", StringComparison.Ordinal), Bound, "the message on s_server");

        Assert.That(server.StandardOutput, Does.Not.Contain("PSK warning"), server.Report());
    }

    private static string Escape(string hex) => string.Concat(Convert.FromHexString(hex).Select(b => $"\\x{b:x2}"));

    private static string? StrictText(byte[] bytes)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>IANA numbers of the suites these tests force on BouncyCastle.</summary>
    public static class TlsCipherSuite
    {
        public const int PskAes128Ccm8 = CipherSuite.TLS_PSK_WITH_AES_128_CCM_8;
        public const int PskAes128Gcm = CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256;
    }
}
