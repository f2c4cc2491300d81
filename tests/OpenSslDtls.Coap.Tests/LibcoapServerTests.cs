using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.CoapServer;

namespace OpenSslDtls.Samples.Tests.Coap;

/// <summary>
/// Our <see cref="DtlsClient"/> reaches libcoap's coap-server (openssl and gnutls builds) and gets
/// CoAP responses, each suite forced on our side. coap-server -p P serves CoAP on P and CoAP over
/// DTLS on P+1 (PEERS.md); the requests are encoded with samples/CoapServer's codec.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class LibcoapServerTests : CoapTestBase
{
    // libcoap 4.3.1's -k is the key as a raw string (PEERS.md).
    private const string Key = "coap-server-secret";

    public static readonly string[] Servers = ["coap-server-openssl", "coap-server-gnutls"];

    [Test]
    public async Task Our_psk_client_gets_time_from_coap_server(
        [ValueSource(nameof(Servers))] string server,
        [Values("PSK-AES128-CCM8", "PSK-AES128-GCM-SHA256", "PSK-AES256-GCM-SHA384", "PSK-AES128-CCM", "ECDHE-PSK-CHACHA20-POLY1305")] string cipher)
    {
        int port = await StartCoapServerProcessAsync(server, "-k", Key);
        var options = new DtlsClientOptions { PskIdentity = "dotnet-device"u8.ToArray(), PskKey = Encoding.ASCII.GetBytes(Key), CipherList = cipher };
        await AssertTimeAsync(port, options, cipher);
    }

    [Test]
    public async Task Our_certificate_client_gets_time_from_coap_server(
        [ValueSource(nameof(Servers))] string server,
        [Values("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-CCM8", "ECDHE-ECDSA-CHACHA20-POLY1305")] string cipher)
    {
        // -C: coap-server asks for our certificate and verifies it against the CA.
        int port = await StartCoapServerProcessAsync(server, "-c", Pki.ServerCertificateFile, "-j", Pki.ServerKeyFile, "-C", Pki.CaFile);
        var options = new DtlsClientOptions
        {
            CertificateChainFile = Pki.ClientCertificateFile,
            PrivateKeyFile = Pki.ClientKeyFile,
            CaFile = Pki.CaFile,
            TargetHost = "localhost",
            CipherList = cipher,
        };
        await AssertTimeAsync(port, options, cipher);
    }

    /// <summary>Starts coap-server on a free port pair and waits until its DTLS port is bound; returns the DTLS port.</summary>
    private async Task<int> StartCoapServerProcessAsync(string server, params string[] credentials)
    {
        string tool = ExternalTool.Require(server, "libcoap3-bin");
        int port = FreePortPair();
        PeerProcess process = Start(tool, ["-A", "127.0.0.1", "-p", Text(port), .. credentials]);
        await process.WaitUntilAsync(_ => !IsFree(port + 1, SocketType.Dgram, ProtocolType.Udp), StartupTimeout, $"coap-server bound to UDP {port + 1}");
        return port + 1;
    }

    private static async Task AssertTimeAsync(int port, DtlsClientOptions options, string cipher)
    {
        using var timeout = new CancellationTokenSource(ExchangeTimeout);
        await using DtlsSession session = await DtlsClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), options, timeout.Token);
        Assert.That(session.CipherSuite, Is.EqualTo(IanaNames.Of(cipher)));

        // libcoap's /time answers a GET with its clock ("Nov 29 14:45:25"), piggybacked on the ACK.
        byte[] token = [0xC0, 0xA9, 0x01];
        var request = new CoapMessage(CoapType.Confirmable, CoapCode.Get, 0x1234, token, [new CoapOption(CoapCode.UriPath, "time"u8.ToArray())], []);
        await session.SendAsync(request.ToBytes(), timeout.Token);
        byte[] buffer = new byte[2048];
        int received = await session.ReceiveAsync(buffer, timeout.Token);
        CoapMessage? response = CoapMessage.TryParse(buffer.AsSpan(0, received), out string? error);

        Assert.That(response, Is.Not.Null, error);
        Assert.Multiple(() =>
        {
            Assert.That(response!.Type, Is.EqualTo(CoapType.Acknowledgement));
            Assert.That(response.MessageId, Is.EqualTo(request.MessageId));
            Assert.That(response.Token, Is.EqualTo(token));
            Assert.That(CoapCode.Format(response.Code), Is.EqualTo("2.05"));
            Assert.That(Encoding.UTF8.GetString(response.Payload), Does.Match(@"^[A-Z][a-z]{2} [ 0-9]\d \d{2}:\d{2}:\d{2}$"));
        });
        await session.ShutdownAsync(timeout.Token);
    }
}
