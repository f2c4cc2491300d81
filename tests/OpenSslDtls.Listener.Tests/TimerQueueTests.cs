using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using OpenSsl.Dtls;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// The retransmission timer queue (docs/architecture.md, timers): a handshake that finishes leaves its
/// entry in the queue, one retransmission timeout (1 s) ahead. Sequential handshakes a moment apart
/// made the queue's timer fire once per finished handshake, each time to find nothing due
/// (docs/benchmarks.md, the client side's off-CPU view). The sessions' clock is a FakeTimeProvider
/// that counts its timers' callbacks; the handshakes run over real loopback sockets.
/// </summary>
public class TimerQueueTests
{
    [TestCase(5)]
    [TestCase(20)]
    [CancelAfter(60_000)]
    public async Task Finished_handshakes_do_not_wake_the_timer_once_each(int handshakes, CancellationToken ct)
    {
        var clock = new CountingTimeProvider(new FakeTimeProvider());
        DtlsServerOptions serverOptions = ServerOptions();
        serverOptions.TimeProvider = clock;
        using var serverContext = new DtlsContext(serverOptions);
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [Certificate],
            TargetHost = Host,
            AllowSessionResumption = false,
            TimeProvider = clock,
        });

        for (int i = 0; i < handshakes; i++)
        {
            (Socket serverSocket, Socket clientSocket) = ConnectedPair();
            using (serverSocket)
            using (clientSocket)
            {
                await using var server = new DtlsSession(serverContext, serverSocket);
                await using var client = new DtlsSession(clientContext, clientSocket);
                ValueTask accept = server.AcceptAsync(ct);
                await client.ConnectAsync(ct);
                await accept;
                Assert.That(client.IsAuthenticated && server.IsAuthenticated, Is.True);
            }

            clock.Inner.Advance(TimeSpan.FromMilliseconds(1)); // the next handshake's entries lie 1 ms later
        }

        Assert.That(clock.Fires, Is.Zero, "nothing was due yet");
        for (int ms = 0; ms < 3000; ms++)
        {
            clock.Inner.Advance(TimeSpan.FromMilliseconds(1)); // as real time passes, past every entry's time
        }

        Assert.That(clock.Fires, Is.InRange(0, 2), $"{handshakes} finished handshakes: the timer may fire for the first stale entry, not for each");
    }

    private static (Socket Server, Socket Client) ConnectedPair()
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Connect(client.LocalEndPoint!);
        client.Connect(server.LocalEndPoint!);
        return (server, client);
    }

    /// <summary>A FakeTimeProvider whose timers count their callbacks.</summary>
    private sealed class CountingTimeProvider(FakeTimeProvider inner) : TimeProvider
    {
        private int _fires;

        public FakeTimeProvider Inner => inner;

        public int Fires => Volatile.Read(ref _fires);

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override long GetTimestamp() => inner.GetTimestamp();

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            inner.CreateTimer(s =>
            {
                Interlocked.Increment(ref _fires);
                callback(s);
            }, state, dueTime, period);
    }
}
