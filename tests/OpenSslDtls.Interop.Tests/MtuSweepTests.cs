using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Interop.Tests.Support;

namespace OpenSslDtls.Interop.Tests;

/// <summary>
/// MTU sweep with fragmented flights: both sides use ~4 KB certificate chains (the server's and a required
/// client certificate), so every flight that carries one is fragmented; every datagram is measured at a
/// relay. Our side must keep each datagram within Mtu minus the IP and UDP headers (28 bytes IPv4, 48 IPv6).
/// </summary>
public sealed class MtuSweepTests : InteropTest
{
    public enum Peer
    {
        OpenSsl,
        GnuTls,
        MbedTls,
    }

    private static readonly object[] Sweep =
    [
        .. new[] { 400, 576, 1000, 1500 }.SelectMany(mtu => Enum.GetValues<Peer>().Select(peer => new object[] { peer, mtu, false })),
        .. new[] { 576, 1280 }.SelectMany(mtu => Enum.GetValues<Peer>().Select(peer => new object[] { peer, mtu, true })),
    ];

    private static int Headers(bool ipv6) => ipv6 ? 48 : 28;

    private static string Name(Peer peer, bool server) => peer switch
    {
        Peer.OpenSsl => server ? "openssl s_server" : "openssl s_client",
        Peer.GnuTls => server ? "gnutls-serv" : "gnutls-cli",
        _ => server ? "mbedTLS server" : "mbedTLS client",
    };

    [TestCaseSource(nameof(Sweep))]
    [Category("Slow")]
    public async Task Our_client_keeps_every_datagram_within_the_MTU(Peer peer, int mtu, bool ipv6)
    {
        Row(Name(peer, server: true), OursToPeer, $"MTU {mtu}{(ipv6 ? " IPv6" : string.Empty)}, 4 KB chains both ways");
        IPAddress address = ipv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(peer, address, mtu, ipv6);
        await using var relay = new MeasuringRelay(endPoint);
        var options = new DtlsClientOptions
        {
            CaFile = Pki.CaFile,
            TargetHost = "localhost",
            CertificateChainFile = Pki.LargeChainClient.ChainFile,
            PrivateKeyFile = Pki.LargeChainClient.KeyFile,
            Mtu = mtu,
        };
        await using (DtlsSession session = await ConnectAsync(relay.EndPoint, options))
        {
            string marker = Payload("mtu");
            string full = marker + new string('x', session.MaxDatagramPayload - marker.Length - 1) + "\n";
            await session.SendAsync(Encoding.ASCII.GetBytes(full), Token);
            if (peer == Peer.OpenSsl)
            {
                await server.WaitUntilAsync(p => p.StandardOutput.Contains(marker, StringComparison.Ordinal), Bound, "s_server printed our largest datagram");
            }
            else
            {
                byte[] buffer = new byte[65536];
                int n = await session.ReceiveAsync(buffer, Token);
                Assert.That(Encoding.ASCII.GetString(buffer, 0, n), Does.StartWith(marker), "the peer echoed our largest datagram (gnutls-serv truncates at 254 B)");
            }

            await session.ShutdownAsync(Token);
        }

        Measure(relay, ourSideIsClient: true, mtu, ipv6);
    }

    [TestCaseSource(nameof(Sweep))]
    [Category("Slow")]
    public async Task Our_server_keeps_every_datagram_within_the_MTU(Peer peer, int mtu, bool ipv6)
    {
        Row(Name(peer, server: false), PeerToOurs, $"MTU {mtu}{(ipv6 ? " IPv6" : string.Empty)}, 4 KB chains both ways");
        IPAddress address = ipv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        EchoListener listener = StartEchoListener(new DtlsServerOptions
        {
            CertificateChainFile = Pki.LargeChainServer.ChainFile,
            PrivateKeyFile = Pki.LargeChainServer.KeyFile,
            RequireClientCertificate = true,
            CaFile = Pki.CaFile,
            Mtu = mtu,
        }, address);
        await using var relay = new MeasuringRelay(listener.EndPoint);
        UsesPort(relay.EndPoint.Port);
        string host = address.ToString();
        Credential client = Pki.LargeChainClient;
        string message = StablePayload("mtu");
        PeerProcess process = peer switch
        {
            Peer.OpenSsl => Start(Peers.OpenSsl(), "s_client", "-dtls1_2", "-connect", ipv6 ? $"[{host}]:{Text(relay.EndPoint.Port)}" : $"{host}:{Text(relay.EndPoint.Port)}",
                "-mtu", Text(mtu), "-CAfile", Pki.CaFile, "-verify_return_error", "-cert", client.ChainFile, "-cert_chain", client.ChainFile, "-key", client.KeyFile),
            Peer.GnuTls => Start(Peers.GnuTlsCli(), "--udp", "-p", Text(relay.EndPoint.Port), host, "--mtu", Text(mtu - Headers(ipv6)),
                "--x509cafile", Pki.CaFile, "--verify-hostname", ipv6 ? "::1" : "localhost", "--x509certfile", client.ChainFile, "--x509keyfile", client.KeyFile),
            _ => Start(await Peers.MbedTlsAsync(), "client", "--host", host, "--port", Text(relay.EndPoint.Port), "--mtu", Text(mtu),
                "--ca", Pki.CaFile, "--server-name", "localhost", "--cert", client.ChainFile, "--key", client.KeyFile, "--message", message),
        };
        if (peer == Peer.MbedTls)
        {
            Assert.That(await process.WaitForExitAsync(Bound), Is.Zero, process.Report());
        }
        else
        {
            await process.WaitUntilAsync(p => p.StandardOutput.Contains(peer == Peer.OpenSsl ? "Cipher is" : "- Simple Client Mode:", StringComparison.Ordinal), Bound, "the peer finished its handshake");
            process.Write(message + "\n");
            await process.WaitUntilAsync(p => p.StandardOutput.Contains(message, StringComparison.Ordinal), Bound, "our echo reached the peer");
            process.CloseInput();
            await process.WaitForExitAsync(Bound);
        }

        DtlsSession session = await listener.NextSessionAsync(Bound);
        Assert.That(session.RemoteCertificate?.RawData, Is.EqualTo(client.LeafDer), "the fragmented client chain arrived");
        Measure(relay, ourSideIsClient: false, mtu, ipv6);
    }

    private async Task<(PeerProcess Server, IPEndPoint EndPoint)> StartServerAsync(Peer peer, IPAddress address, int mtu, bool ipv6)
    {
        Credential server = Pki.LargeChainServer;
        if (peer == Peer.MbedTls)
        {
            PeerProcess mbed = Start(await Peers.MbedTlsAsync(), "server", "--host", address.ToString(), "--port", "0", "--mtu", Text(mtu),
                "--cert", server.ChainFile, "--key", server.KeyFile, "--ca", Pki.CaFile, "--auth-mode", "required");
            string line = await mbed.WaitForOutputLineAsync("listening on ", Bound);
            int mbedPort = int.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
            return (mbed, new IPEndPoint(address, mbedPort));
        }

        int port = FreeUdpPort(address);
        if (peer == Peer.OpenSsl)
        {
            string accept = ipv6 ? $"[{address}]:{Text(port)}" : $"{address}:{Text(port)}";
            PeerProcess openssl = Start(Peers.OpenSsl(), "s_server", "-dtls1_2", "-accept", accept, "-naccept", "1", "-mtu", Text(mtu),
                "-cert", server.ChainFile, "-cert_chain", server.ChainFile, "-key", server.KeyFile, "-Verify", "1", "-CAfile", Pki.CaFile);
            await openssl.WaitForOutputLineAsync("ACCEPT", Bound);
            return (openssl, new IPEndPoint(address, port));
        }

        PeerProcess gnutls = Start(ExternalTool.Require("stdbuf", "coreutils"), "-oL", Peers.GnuTlsServ(), "--udp", "--echo", "--port", Text(port),
            "--mtu", Text(mtu - Headers(ipv6)), "--x509certfile", server.ChainFile, "--x509keyfile", server.KeyFile,
            "--require-client-cert", "--verify-client-cert", "--x509cafile", Pki.CaFile);
        await gnutls.WaitUntilAsync(p => p.StandardOutput.Contains("Waiting for connection", StringComparison.Ordinal), Bound, "gnutls-serv ready");
        return (gnutls, new IPEndPoint(address, port));
    }

    /// <summary>Our side's datagrams must fit; the peer's largest is recorded (OpenSSL 3.0 peers overshoot their final flight, PEERS.md).</summary>
    private void Measure(MeasuringRelay relay, bool ourSideIsClient, int mtu, bool ipv6)
    {
        int limit = mtu - Headers(ipv6);
        int ours = relay.Largest(ourSideIsClient);
        int theirs = relay.Largest(!ourSideIsClient);
        Note($"largest datagram: ours {ours} B (limit {limit}), peer {theirs} B");
        Assert.That(relay.Count(!ourSideIsClient), Is.GreaterThan(1), "the peer's flights crossed the relay");
        Assert.That(ours, Is.LessThanOrEqualTo(limit), $"our datagrams at MTU {mtu}: {relay.Sizes(ourSideIsClient)}");
    }
}
