using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Transport;

/// <summary>
/// Sessions over <see cref="InMemoryDtlsTransport"/> and over a transport written here, without
/// sockets: the transport contract (docs/architecture.md, the one I/O path). Our client against our
/// server proves the seam, not the wire; the wire is proven in <see cref="SharedSocketTests"/>.
/// </summary>
[TestFixture]
public sealed class InMemoryTransportTests : DtlsFixture
{
    private DtlsContext _serverContext = null!;
    private DtlsContext _clientContext = null!;

    [OneTimeSetUp]
    public void CreateContexts()
    {
        _serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.Server });
        // No IP endpoint to fall back on: the certificate is checked against TargetHost.
        _clientContext = new DtlsContext(new DtlsClientOptions { CaFile = DtlsTestCertificates.CaFile, TargetHost = DtlsTestCertificates.Host });
    }

    [OneTimeTearDown]
    public void DisposeContexts()
    {
        _clientContext.Dispose();
        _serverContext.Dispose();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Handshake_and_echo_of_every_size_up_to_the_largest_payload_compare_byte_for_byte(CancellationToken cancellationToken)
    {
        DtlsContext serverContext = _serverContext, clientContext = _clientContext;
        // README-BEGIN
        // Two sessions joined in memory, without sockets (tests, benchmarks).
        var (clientSide, serverSide) = InMemoryDtlsTransport.CreatePair();
        await using var server = new DtlsSession(serverContext, serverSide);
        Task accept = server.AcceptAsync(cancellationToken).AsTask(); // start it before the ClientHello arrives
        await using DtlsSession client = await DtlsClient.ConnectAsync(clientSide, clientContext, cancellationToken);
        await accept;
        // README-END

        int largest = client.MaxDatagramPayload;
        int[] sizes = [1, 2, 13, 100, 255, 256, 1000, largest - 1, largest];
        foreach (int size in sizes)
        {
            byte[] payload = RandomNumberGenerator.GetBytes(size);
            Assert.That(await EchoAsync(client, server, payload, cancellationToken), Is.EqualTo(payload), $"{size} bytes");
        }

        Assert.Multiple(() =>
        {
            Assert.That(client.ProtocolVersion, Is.EqualTo("DTLSv1.2"));
            Assert.That(client.RemoteCertificate?.RawData, Is.EqualTo(DtlsTestCertificates.Server.RawData));
            Assert.That(client.RemoteEndPoint, Is.Null, "an in-memory transport has no IP endpoint");
            Assert.That(largest, Is.GreaterThan(1000), "the payload bound comes from Mtu minus the default 28-byte overhead");
            Assert.That(clientSide.DroppedDatagrams + serverSide.DroppedDatagrams, Is.Zero);
            Assert.That(server.RejectedDatagrams + client.RejectedDatagrams, Is.Zero);
        });
    }

    [TestCase(400)]
    [TestCase(576)]
    [TestCase(1000)]
    [CancelAfter(30_000)]
    public async Task No_datagram_exceeds_the_mtu_minus_the_header_overhead(int mtu, CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.RsaSelfSigned, Mtu = mtu });
        using var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, Mtu = mtu });
        (InMemoryDtlsTransport clientSide, InMemoryDtlsTransport serverSide) = InMemoryDtlsTransport.CreatePair();
        int largest = 0;
        clientSide.SendFilter = serverSide.SendFilter = d => { InterlockedMax(ref largest, d.Length); return true; };
        (DtlsSession client, DtlsSession server) = await ConnectAsync(clientContext, serverContext, clientSide, serverSide, cancellationToken);
        await using DtlsSession disposeClient = client;
        await using DtlsSession disposeServer = server;
        byte[] payload = RandomNumberGenerator.GetBytes(client.MaxDatagramPayload);
        Assert.That(await EchoAsync(client, server, payload, cancellationToken), Is.EqualTo(payload));
        Assert.That(largest, Is.InRange(mtu - 28 - 64, mtu - 28), "an RSA certificate's flight fills datagrams up to Mtu - 28 (RFC 6347 §4.1.1)");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Lost_first_flights_are_retransmitted(CancellationToken cancellationToken)
    {
        using var clientContext = new DtlsContext(new DtlsClientOptions { CaFile = DtlsTestCertificates.CaFile, TargetHost = DtlsTestCertificates.Host, InitialRetransmitTimeout = TimeSpan.FromMilliseconds(100) });
        (InMemoryDtlsTransport clientSide, InMemoryDtlsTransport serverSide) = InMemoryDtlsTransport.CreatePair();
        int clientSends = 0;
        int serverSends = 0;
        clientSide.SendFilter = _ => Interlocked.Increment(ref clientSends) > 1; // the first ClientHello is lost
        serverSide.SendFilter = _ => Interlocked.Increment(ref serverSends) > 1; // and the server's first datagram
        (DtlsSession client, DtlsSession server) = await ConnectAsync(clientContext, _serverContext, clientSide, serverSide, cancellationToken);
        await using DtlsSession disposeClient = client;
        await using DtlsSession disposeServer = server;

        byte[] payload = RandomNumberGenerator.GetBytes(500);
        Assert.That(await EchoAsync(client, server, payload, cancellationToken), Is.EqualTo(payload));
        Assert.Multiple(() =>
        {
            Assert.That(clientSide.DroppedDatagrams, Is.EqualTo(1));
            Assert.That(serverSide.DroppedDatagrams, Is.EqualTo(1));
            Assert.That(client.Retransmissions, Is.GreaterThanOrEqualTo(1));
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Close_notify_ends_the_peers_receive_with_zero(CancellationToken cancellationToken)
    {
        (DtlsSession client, DtlsSession server) = await ConnectAsync(cancellationToken);
        await using (client)
        await using (server)
        {
            Task<int> waiting = server.ReceiveAsync(new byte[2048], cancellationToken).AsTask();
            await client.ShutdownAsync(cancellationToken);
            Assert.That(await waiting, Is.Zero);
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_transport_reported_closed_fails_waiting_and_later_receives_with_a_DtlsException(CancellationToken cancellationToken)
    {
        (InMemoryDtlsTransport clientSide, InMemoryDtlsTransport serverSide) = InMemoryDtlsTransport.CreatePair();
        (DtlsSession client, DtlsSession server) = await ConnectAsync(_clientContext, _serverContext, clientSide, serverSide, cancellationToken);
        await using DtlsSession disposeClient = client;
        await using DtlsSession disposeServer = server;
        byte[] queued = RandomNumberGenerator.GetBytes(64);
        await client.SendAsync(queued, cancellationToken);
        byte[] buffer = new byte[2048];
        int first = await server.ReceiveAsync(buffer, cancellationToken);
        Task<int> waiting = server.ReceiveAsync(buffer, cancellationToken).AsTask();

        var cause = new IOException("ICE failed");
        serverSide.ReportClosed(cause);

        DtlsException? failed = Assert.ThrowsAsync<DtlsException>(async () => await waiting);
        DtlsException? later = Assert.ThrowsAsync<DtlsException>(async () => await server.ReceiveAsync(buffer, cancellationToken));
        Assert.Multiple(() =>
        {
            Assert.That(buffer.AsSpan(0, first).ToArray(), Is.EqualTo(queued));
            Assert.That(failed?.InnerException, Is.SameAs(cause));
            Assert.That(failed?.Message, Does.Contain("ICE failed"));
            Assert.That(later, Is.SameAs(failed));
            Assert.That(serverSide.IsClosed, Is.True);
            Assert.That(serverSide.Deliver(new byte[13]), Is.False, "a closed transport delivers nothing");
        });
    }

    [TestCase(false)]
    [TestCase(true)]
    [CancelAfter(30_000)]
    public async Task A_transport_closed_before_or_during_the_handshake_fails_it_at_once_with_a_DtlsException(bool duringHandshake, CancellationToken cancellationToken)
    {
        (InMemoryDtlsTransport clientSide, InMemoryDtlsTransport serverSide) = InMemoryDtlsTransport.CreatePair();
        clientSide.SendFilter = _ => false; // nobody answers: only the closure can end the handshake early
        using (serverSide)
        {
            await using var client = new DtlsSession(_clientContext, clientSide);
            var clock = Stopwatch.StartNew();
            if (!duringHandshake)
            {
                clientSide.ReportClosed();
            }

            Task connect = client.ConnectAsync(cancellationToken).AsTask();
            if (duringHandshake)
            {
                Assert.That(connect.IsCompleted, Is.False);
                clientSide.ReportClosed();
            }

            DtlsException? e = Assert.ThrowsAsync<DtlsException>(async () => await connect);
            Assert.Multiple(() =>
            {
                Assert.That(e?.Message, Does.Contain("closed"));
                Assert.That(e?.InnerException, Is.Null, "an orderly close has no cause");
                Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "not the 30 s HandshakeTimeout");
            });
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_transport_whose_owner_stops_delivering_times_out_at_the_HandshakeTimeout(CancellationToken cancellationToken)
    {
        TimeSpan timeout = TimeSpan.FromSeconds(2);
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            InsecureSkipCertificateValidation = true,
            HandshakeTimeout = timeout,
            InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200),
        });
        var transport = new SilentTransport();
        await using var client = new DtlsSession(clientContext, transport);
        var clock = Stopwatch.StartNew();
        TimeoutException? e = Assert.ThrowsAsync<TimeoutException>(async () => await client.ConnectAsync(cancellationToken));
        TimeSpan elapsed = clock.Elapsed;
        Assert.Multiple(() =>
        {
            Assert.That(elapsed, Is.InRange(timeout - TimeSpan.FromMilliseconds(50), timeout + TimeSpan.FromSeconds(2)));
            Assert.That(e?.Message, Does.Contain("HandshakeTimeout"));
            Assert.That(client.Retransmissions, Is.GreaterThanOrEqualTo(2), "the ClientHello was retransmitted while nothing came back");
            Assert.That(transport.Sizes, Has.Count.EqualTo(1 + client.Retransmissions), "one ClientHello per flight, each one Send");
            Assert.That(transport.Sizes, Has.All.InRange(13, 1200 - 28), "each Send is one datagram within Mtu minus 28");
        });
    }

    [Test]
    public void A_client_that_validates_certificates_needs_TargetHost_over_a_transport_without_an_address()
    {
        using var context = new DtlsContext(new DtlsClientOptions { CaFile = DtlsTestCertificates.CaFile });
        var transport = new SilentTransport();
        ArgumentException? e = Assert.Throws<ArgumentException>(() => _ = new DtlsSession(context, transport));
        Assert.Multiple(() =>
        {
            Assert.That(e?.ParamName, Is.EqualTo(nameof(DtlsClientOptions.TargetHost)));
            Assert.That(transport.IsClosed, Is.True, "the failed session disposed the transport it was given");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_transport_carries_one_session(CancellationToken cancellationToken)
    {
        (InMemoryDtlsTransport clientSide, InMemoryDtlsTransport serverSide) = InMemoryDtlsTransport.CreatePair();
        await using var server = new DtlsSession(_serverContext, serverSide);
        Assert.Throws<InvalidOperationException>(() => _ = new DtlsSession(_serverContext, serverSide));

        // The refused second session left the transport to the first, which still works.
        Task accept = server.AcceptAsync(cancellationToken).AsTask();
        await using DtlsSession client = await DtlsClient.ConnectAsync(clientSide, _clientContext, cancellationToken);
        await accept;
        byte[] payload = RandomNumberGenerator.GetBytes(32);
        Assert.That(await EchoAsync(client, server, payload, cancellationToken), Is.EqualTo(payload));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_transport_whose_send_throws_fails_the_handshake_with_a_DtlsException_holding_it(CancellationToken cancellationToken)
    {
        using var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true });
        var cause = new InvalidOperationException("tunnel down");
        await using var client = new DtlsSession(clientContext, new SilentTransport { SendFailure = cause });
        DtlsException? e = Assert.ThrowsAsync<DtlsException>(async () => await client.ConnectAsync(cancellationToken));
        Assert.That(e?.InnerException, Is.SameAs(cause));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Disposing_the_session_disposes_its_transport_and_later_deliveries_are_refused(CancellationToken cancellationToken)
    {
        (DtlsSession client, DtlsSession server) = await ConnectAsync(cancellationToken);
        var transport = new SilentTransport();
        var session = new DtlsSession(_serverContext, transport);
        await session.DisposeAsync();
        await client.DisposeAsync();
        await server.DisposeAsync();
        Assert.Multiple(() =>
        {
            Assert.That(transport.IsClosed, Is.True);
            Assert.That(transport.Deliver(new byte[13]), Is.False);
        });
    }

    private Task<(DtlsSession Client, DtlsSession Server)> ConnectAsync(CancellationToken cancellationToken)
    {
        (InMemoryDtlsTransport clientSide, InMemoryDtlsTransport serverSide) = InMemoryDtlsTransport.CreatePair();
        return ConnectAsync(_clientContext, _serverContext, clientSide, serverSide, cancellationToken);
    }

    /// <summary>Our server on one end, our client on the other, both handshakes complete; on failure both are disposed.</summary>
    private static async Task<(DtlsSession Client, DtlsSession Server)> ConnectAsync(
        DtlsContext clientContext, DtlsContext serverContext, InMemoryDtlsTransport clientSide, InMemoryDtlsTransport serverSide, CancellationToken cancellationToken)
    {
        var server = new DtlsSession(serverContext, serverSide);
        try
        {
            Task accept = server.AcceptAsync(cancellationToken).AsTask(); // before the client's ClientHello can arrive
            DtlsSession client = await DtlsClient.ConnectAsync(clientSide, clientContext, cancellationToken);
            await accept;
            return (client, server);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static Task<byte[]> EchoAsync(DtlsSession client, DtlsSession server, byte[] payload, CancellationToken cancellationToken) =>
        LoopbackPair.EchoAsync(client, server, payload, cancellationToken);

    private static void InterlockedMax(ref int location, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref location)) && Interlocked.CompareExchange(ref location, value, current) != current)
        {
        }
    }

    /// <summary>A transport written by an application: it records every datagram's size and never delivers anything.</summary>
    private sealed class SilentTransport : DtlsDatagramTransport
    {
        private readonly List<int> _sizes = [];

        public Exception? SendFailure { get; init; }

        public IReadOnlyList<int> Sizes
        {
            get
            {
                lock (_sizes)
                {
                    return [.. _sizes];
                }
            }
        }

        public override EndPoint? RemoteEndPoint => null;

        public override void Send(ReadOnlySpan<byte> datagram)
        {
            if (SendFailure is not null)
            {
                throw SendFailure;
            }

            lock (_sizes)
            {
                _sizes.Add(datagram.Length);
            }
        }
    }
}
