using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// ICMP port-unreachable errors, which the kernel reports on a connected UDP socket after a send to
/// a closed port: a server still starting, a restart. They are transient for DTLS: a handshake goes
/// on until its timeout (and then says the port was unreachable), and an established session lives.
/// </summary>
[TestFixture]
public sealed class IcmpTests : DtlsFixture
{
    [Test]
    [CancelAfter(20_000)]
    public async Task A_handshake_to_a_closed_port_runs_to_HandshakeTimeout_and_names_the_ICMP_errors(CancellationToken cancellationToken)
    {
        int closedPort;
        using (Socket probe = LoopbackPair.Bound())
        {
            closedPort = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        using var context = new DtlsContext(new DtlsClientOptions
        {
            InsecureSkipCertificateValidation = true,
            HandshakeTimeout = TimeSpan.FromSeconds(2),
            InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200),
        });
        var clock = Stopwatch.StartNew();
        Exception? failure = await LoopbackPair.CaptureAsync(async () => await (await DtlsClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, closedPort), context, cancellationToken)).DisposeAsync());
        Assert.Multiple(() =>
        {
            Assert.That(failure, Is.InstanceOf<TimeoutException>());
            Assert.That(failure?.Message, Does.Contain("ICMP").And.Contain("unreachable").And.Contain("ConnectionRefused"));
            Assert.That(clock.Elapsed, Is.GreaterThan(TimeSpan.FromSeconds(1.9)), "ICMP errors did not end the handshake early");
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task A_client_started_before_its_server_connects_once_the_server_is_up(CancellationToken cancellationToken)
    {
        int port;
        using (Socket probe = LoopbackPair.Bound())
        {
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            InsecureSkipCertificateValidation = true,
            HandshakeTimeout = TimeSpan.FromSeconds(10),
            InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200),
            MaximumRetransmitTimeout = TimeSpan.FromMilliseconds(400),
        });
        using Socket clientSocket = LoopbackPair.Bound();
        clientSocket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        await using var client = new DtlsSession(clientContext, clientSocket);
        Task connect = client.ConnectAsync(cancellationToken).AsTask();

        // The server comes up only after the client's first ClientHellos met a closed port (ICMP).
        while (client.Retransmissions < 2)
        {
            Assert.That(connect.IsCompleted, Is.False, "ICMP errors did not end the handshake");
            await Task.Delay(50, cancellationToken); // polling a counter, bounded by CancelAfter
        }

        Assert.That(connect.IsCompleted, Is.False, "ICMP errors did not end the handshake");
        using Socket serverSocket = LoopbackPair.Bound(port: port);
        serverSocket.Connect(clientSocket.LocalEndPoint!);
        await using var server = new DtlsSession(serverContext, serverSocket);
        await Task.WhenAll(server.AcceptAsync(cancellationToken).AsTask(), connect);
        byte[] payload = RandomNumberGenerator.GetBytes(64);
        await client.SendAsync(payload, cancellationToken);
        byte[] received = new byte[100];
        Assert.That(await server.ReceiveAsync(received, cancellationToken), Is.EqualTo(64));
        Assert.That(received[..64], Is.EqualTo(payload));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task An_established_session_outlives_ICMP_errors_while_its_peer_port_is_closed(CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });
        using var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true });
        using Socket serverSocket = LoopbackPair.Bound();
        using var relay = new UdpRelay(serverSocket.LocalEndPoint!);
        serverSocket.Connect(relay.EndPoint);
        Socket clientSocket = LoopbackPair.Bound();
        clientSocket.Connect(relay.EndPoint);
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext, serverSocket, clientSocket);
        await pair.HandshakeAsync(cancellationToken);
        byte[] payload = RandomNumberGenerator.GetBytes(64);
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));

        // The port both sides send to closes for a while: every datagram is answered by ICMP port
        // unreachable, which the kernel reports on each side's next socket call.
        await relay.CloseForAsync(async () =>
        {
            for (int i = 0; i < 5; i++)
            {
                await pair.Client.SendAsync(payload, cancellationToken);
                await pair.Server.SendAsync(payload, cancellationToken);
            }
        });

        // The first datagram each side sends afterwards meets the pending ICMP error and is sent again.
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload), "both sides still send and receive, nothing lost");
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
    }
}
