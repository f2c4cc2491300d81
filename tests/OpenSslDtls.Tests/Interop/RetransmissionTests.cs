using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using NUnit.Framework;
using OpenSsl.Interop;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Interop;

/// <summary>
/// Lost flights are resent by the retransmission timer, driven from outside OpenSSL the way docs/architecture.md (timers) asks:
/// <c>DTLSv1_get_timeout</c> says how long to wait, <c>DTLSv1_handle_timeout</c> resends when it expires.
/// A relay on loopback drops the first datagram in each direction, which is the first flight of each side
/// (the ClientHello, then the server's ServerHello...ServerHelloDone).
/// </summary>
[TestFixture]
[NonParallelizable] // the timer callback counts into a static
public sealed class RetransmissionTests
{
    private const uint InitialTimerMicroseconds = 100_000;
    private const uint MaximumTimerMicroseconds = 1_000_000;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(20);
    private static int _timerCallbacks;

    [TestCase(true, TestName = "Handshake completes when the first flight of each side is lost (100 ms timer from DTLS_set_timer_cb)")]
    [TestCase(false, TestName = "Handshake completes when the first flight of each side is lost (OpenSSL's default 1 s timer)")]
    public unsafe void Handshake_completes_when_the_first_flight_of_each_side_is_lost(bool shortTimer)
    {
        TestCertificate certificate = TestPki.CreateSelfSigned(KeyKind.EcdsaP256);
        using SafeSslContextHandle serverContext = RawContexts.Server(certificate);
        using SafeSslContextHandle clientContext = RawContexts.Client(certificate);
        using var relay = new LossyRelay((_, index) => index == 0);
        using Socket serverSocket = LoopbackUdp.Bind();
        using Socket clientSocket = LoopbackUdp.Bind();
        LoopbackUdp.Connect(clientSocket, relay.ClientSide);
        LoopbackUdp.Connect(serverSocket, relay.ServerSide);
        using var server = new RawDtlsPeer("server", serverContext, serverSocket, isServer: true);
        using var client = new RawDtlsPeer("client", clientContext, clientSocket, isServer: false);
        RawContexts.ExpectHost(client, TestPki.DefaultHost);
        if (shortTimer)
        {
            LibSsl.DTLS_set_timer_cb(server.Ssl, &ShortTimer);
            LibSsl.DTLS_set_timer_cb(client.Ssl, &ShortTimer);
        }

        int callbacksBefore = Volatile.Read(ref _timerCallbacks);
        var pump = new DtlsPump(Budget, relay, server, client);

        pump.Handshake();
        TestContext.Out.WriteLine($"handshake took {pump.Elapsed.TotalMilliseconds:0} ms; {server}; {client}; {relay}");

        Assert.Multiple(() =>
        {
            Assert.That(server.Failure, Is.Null, "server failure");
            Assert.That(client.Failure, Is.Null, "client failure");
            Assert.That(server.HandshakeDone && client.HandshakeDone, Is.True, "both handshakes done");
            Assert.That(relay.Dropped(RelayDirection.ClientToServer), Is.EqualTo(1), "client's first datagram dropped");
            Assert.That(relay.Dropped(RelayDirection.ServerToClient), Is.EqualTo(1), "server's first datagram dropped");

            // Only the sender's own timer can resend a lost flight, and the pump expires timers before it
            // steps the peers, so normally each side's DTLSv1_handle_timeout returns 1 once. Not asserted per
            // side: SSL_accept/SSL_connect also retransmit by themselves when they find the timer expired on
            // an empty socket (BIO_dgram_recv_timedout), which a thread descheduled between the two calls
            // lets happen on a busy machine.
            Assert.That(client.Retransmissions + server.Retransmissions, Is.GreaterThanOrEqualTo(1), "DTLSv1_handle_timeout returned 1");
            Assert.That(relay.Seen(RelayDirection.ClientToServer), Is.GreaterThanOrEqualTo(2), "the client's flight was sent again");
            if (shortTimer)
            {
                Assert.That(Volatile.Read(ref _timerCallbacks), Is.GreaterThan(callbacksBefore), "the DTLS_set_timer_cb callback ran");
            }
        });

        // The association works through the relay afterwards.
        byte[] ping = Encoding.ASCII.GetBytes("ping");
        client.Send(ping);
        byte[]? echoed = null;
        pump.Run(
            () => echoed is not null || server.Failure is not null || client.Failure is not null,
            "the echo after the lossy handshake",
            work: () =>
            {
                while (server.Inbox.TryDequeue(out byte[]? record))
                {
                    server.Send(record);
                }

                if (client.Inbox.TryDequeue(out byte[]? echo))
                {
                    echoed = echo;
                }
            });
        Assert.That(echoed, Is.EqualTo(ping));
    }

    /// <summary>
    /// <c>unsigned int (*DTLS_timer_cb)(SSL *s, unsigned int timer_us)</c>: given the previous interval (0 at
    /// the start of a flight), returns the next one. 100 ms doubling up to 1 s keeps the test fast; RFC 6347
    /// §4.2.4.1 recommends 1 s for real networks.
    /// </summary>
    [UnmanagedCallersOnly]
    private static uint ShortTimer(nint ssl, uint previousMicroseconds)
    {
        Interlocked.Increment(ref _timerCallbacks);
        return previousMicroseconds == 0 ? InitialTimerMicroseconds : Math.Min(previousMicroseconds * 2, MaximumTimerMicroseconds);
    }
}
