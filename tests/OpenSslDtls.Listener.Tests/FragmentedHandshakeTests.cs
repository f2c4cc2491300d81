using System.Globalization;
using System.Net;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using OpenSslDtls.Samples.Tests;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// Handshake messages in fragments at the listener (issue 8 item 1; RFC 6347 §4.2.3): ClientHellos
/// and client Certificate chains that span several datagrams, from gnutls-cli and openssl s_client
/// at small MTUs, from our client's resumption with an RSA-4096 certificate in its ticket, and
/// re-cut by a relay into small fragments out of order, duplicated and overlapping.
/// </summary>
public class FragmentedHandshakeTests
{
    private const byte ClientHelloType = 1;
    private const byte CertificateType = 11;

    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(20);

    [Test]
    [CancelAfter(120_000)]
    public async Task Gnutls_cli_handshakes_and_echoes_at_small_MTUs_with_and_without_a_client_certificate(
        [Values(150, 200, 256, 400)] int mtu,
        [Values] bool clientCertificate,
        CancellationToken ct)
    {
        string gnutls = ExternalTool.Require("gnutls-cli", "gnutls-bin");
        await using DtlsListener listener = DtlsListener.Listen(Options(PeerServerOptions(clientCertificate)));
        await using EchoServer echo = EchoServer.Start(listener);
        await using var relay = new UdpRelay(listener.LocalEndPoint);
        List<string> arguments = ["-u", "--mtu", mtu.ToString(CultureInfo.InvariantCulture), "-p", relay.EndPoint.Port.ToString(CultureInfo.InvariantCulture), "--x509cafile", PeerCredentials.ServerCertificateFile];
        if (clientCertificate)
        {
            arguments.AddRange(["--x509certfile", PeerCredentials.ClientCertificateFile, "--x509keyfile", PeerCredentials.ClientKeyFile]);
        }

        arguments.Add("127.0.0.1");
        await using PeerProcess peer = PeerProcess.Start(gnutls, arguments);
        string line = $"fragmented-gnutls-{mtu}-{clientCertificate}";
        await peer.WaitUntilAsync(p => p.StandardOutput.Contains("Handshake was completed", StringComparison.Ordinal), PeerTimeout, "gnutls-cli's handshake");
        peer.Write(line + "\n");
        await peer.WaitUntilAsync(p => p.StandardOutput.Contains(line, StringComparison.Ordinal), PeerTimeout, "the echo");

        string report = $"{Describe(relay)}\n{listener.Statistics}\n{peer.Report()}";
        Assert.That(listener.Statistics.HandshakesCompleted, Is.EqualTo(1), report);
        AssertSplitWhenLarger(relay, mtu, clientCertificate, report);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Openssl_s_client_handshakes_resumes_and_echoes_at_small_MTUs_with_and_without_a_client_certificate(
        [Values(256, 300, 400, 576)] int mtu,
        [Values] bool clientCertificate,
        CancellationToken ct)
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        await using DtlsListener listener = DtlsListener.Listen(Options(PeerServerOptions(clientCertificate, resumption: true)));
        await using EchoServer echo = EchoServer.Start(listener);
        await using var relay = new UdpRelay(listener.LocalEndPoint);
        string sessionFile = PeerCredentials.NewFile("s_client.session");

        for (int connection = 0; connection < 2; connection++)
        {
            List<string> arguments = ["s_client", "-dtls1_2", "-mtu", mtu.ToString(CultureInfo.InvariantCulture), "-connect", relay.EndPoint.ToString(), "-CAfile", PeerCredentials.ServerCertificateFile, "-verify_return_error"];
            arguments.AddRange(connection == 0 ? ["-sess_out", sessionFile] : ["-sess_in", sessionFile]);
            if (clientCertificate)
            {
                arguments.AddRange(["-cert", PeerCredentials.ClientCertificateFile, "-key", PeerCredentials.ClientKeyFile]);
            }

            int clientHellosBefore = relay.FromClient.Count;
            await using PeerProcess peer = PeerProcess.Start(openssl, arguments);
            string line = $"fragmented-openssl-{mtu}-{clientCertificate}-{connection}";
            await peer.WaitUntilAsync(p => p.StandardOutput.Contains("Cipher is", StringComparison.Ordinal), PeerTimeout, "s_client's handshake");
            peer.Write(line + "\n");
            // s_client prints "New, ..." even for a failed handshake (PEERS.md): the echo is the proof.
            await peer.WaitUntilAsync(p => p.StandardOutput.Split('\n').Any(l => l.TrimEnd('\r') == line), PeerTimeout, "the echo");
            string report = $"{Describe(relay)}\n{listener.Statistics}\n{peer.Report()}";
            if (connection == 1)
            {
                Assert.That(peer.StandardOutput, Does.Contain("Reused, "), $"the second connection resumes with -sess_in\n{report}");
                if (clientCertificate)
                {
                    // The ticket holds the RSA-4096 certificate: the resumption ClientHello spans datagrams at every MTU here.
                    Assert.That(relay.FromClient.Skip(clientHellosBefore).SelectMany(RawDtls.Fragments).Any(f => f.Type == ClientHelloType && f.Offset > 0), Is.True, $"the resumption ClientHello came in fragments\n{report}");
                }
            }

            peer.CloseInput();
            await peer.WaitForExitAsync(PeerTimeout);
        }

        Assert.That(listener.Statistics.HandshakesCompleted, Is.EqualTo(2), $"{Describe(relay)}\n{listener.Statistics}");
        AssertSplitWhenLarger(relay, mtu, clientCertificate, Describe(relay));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Our_clients_resumption_with_an_RSA_4096_certificate_in_its_ticket_completes_every_time([Values(576, 1200)] int mtu, CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options(PeerServerOptions(clientCertificate: true, resumption: true, mtu: mtu)));
        await using EchoServer echo = EchoServer.Start(listener);
        await using var relay = new UdpRelay(listener.LocalEndPoint);
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [Certificate],
            TargetHost = Host,
            Certificate = PeerCredentials.ClientCertificate,
            Mtu = mtu,
            HandshakeTimeout = TimeSpan.FromSeconds(20),
        });

        for (int connection = 0; connection < 3; connection++)
        {
            int sentBefore = relay.FromClient.Count;
            using Client client = await ConnectAsync(relay.EndPoint, clientContext, ct);
            Assert.That(client.Session.IsResumed, Is.EqualTo(connection > 0), $"connection {connection} resumed\n{Describe(relay)}\n{listener.Statistics}");
            await EchoAsync(client.Session, [(byte)connection, 1, 2, 3], ct);
            if (connection > 0)
            {
                List<(byte Type, int MessageLength, int Sequence, int Offset, int Length)> hello = relay.FromClient.Skip(sentBefore).SelectMany(RawDtls.Fragments).Where(f => f.Type == ClientHelloType).ToList();
                Assert.That(hello.Any(f => f.Offset > 0), Is.True, $"the resumption ClientHello ({hello.Max(f => f.MessageLength)} bytes) came in fragments at Mtu {mtu}\n{Describe(relay)}");
            }

            await client.Session.ShutdownAsync(ct);
        }

        Assert.That(listener.Statistics.HandshakesCompleted, Is.EqualTo(3));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Handshake_messages_cut_small_out_of_order_duplicated_or_overlapping_complete(
        [Values] FragmentOrder order,
        [Values(40, 97)] int fragmentSize,
        CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options(PeerServerOptions(clientCertificate: true)));
        await using EchoServer echo = EchoServer.Start(listener);
        await using var relay = new UdpRelay(listener.LocalEndPoint);
        var refragmenter = new Refragmenter(fragmentSize, order);
        relay.FromClientRewrite = refragmenter.Rewrite;
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [Certificate],
            TargetHost = Host,
            Certificate = PeerCredentials.ClientCertificate,
            AllowSessionResumption = false,
            HandshakeTimeout = TimeSpan.FromSeconds(20),
        });

        using Client client = await ConnectAsync(relay.EndPoint, clientContext, ct);
        await EchoAsync(client.Session, [1, 2, 3, 4], ct);

        DtlsListenerStatistics stats = listener.Statistics;
        TestContext.Out.WriteLine($"{refragmenter.MessagesSplit} messages split; {stats}");
        // Both ClientHellos, the Certificate (RSA-4096), ClientKeyExchange and CertificateVerify.
        Assert.That(refragmenter.MessagesSplit, Is.GreaterThanOrEqualTo(4));
        Assert.That(stats.HandshakesCompleted, Is.EqualTo(1));
        Assert.That(stats.HandshakesStarted, Is.EqualTo(1), "fragments never start a second handshake");
        Assert.That(stats.CookiesSent, Is.GreaterThanOrEqualTo(1));
        if (order == FragmentOrder.Reversed)
        {
            // The later fragments of the cookie-bearing ClientHello came before the cookie: dropped
            // (nothing is kept before the cookie), then delivered when the client retransmitted.
            Assert.That(stats.DroppedUnverifiedFragments, Is.GreaterThan(0));
        }
    }

    private static DtlsServerOptions PeerServerOptions(bool clientCertificate, bool resumption = false, int mtu = 1200) => new()
    {
        Certificate = Certificate,
        HandshakeTimeout = TimeSpan.FromSeconds(20),
        Mtu = mtu,
        RequireClientCertificate = clientCertificate,
        TrustedCertificates = clientCertificate ? [PeerCredentials.ClientCertificate] : [],
        SessionCacheSize = resumption ? 1024 : 0,
        EnableSessionTickets = resumption,
    };

    /// <summary>A message larger than the MTU must have arrived in fragments (the test proves something only if it did).</summary>
    private static void AssertSplitWhenLarger(UdpRelay relay, int mtu, bool clientCertificate, string report)
    {
        List<(byte Type, int MessageLength, int Sequence, int Offset, int Length)> fragments = relay.FromClient.SelectMany(RawDtls.Fragments).ToList();
        int largestHello = fragments.Where(f => f.Type == ClientHelloType).Max(f => f.MessageLength);
        if (largestHello + 25 > mtu)
        {
            Assert.That(fragments.Any(f => f.Type == ClientHelloType && f.Offset > 0), Is.True, $"a {largestHello}-byte ClientHello at MTU {mtu} came in fragments\n{report}");
        }

        if (clientCertificate)
        {
            Assert.That(fragments.Any(f => f.Type == CertificateType && f.Offset > 0), Is.True, $"the RSA-4096 Certificate message came in fragments\n{report}");
        }
    }

    private static string Describe(UdpRelay relay) =>
        "client sent: " + string.Join(", ", relay.FromClient.Select(d => $"{d.Length} B [{string.Join(' ', RawDtls.Fragments(d).Select(f => $"t{f.Type} s{f.Sequence} {f.Offset}+{f.Length}/{f.MessageLength}"))}]"));
}
