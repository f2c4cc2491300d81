using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// Half-open handshake storms (issue 14 item 3): peers that pass the cookie exchange, send their
/// ClientHello and never go on. Per-address and per-prefix limits keep a storm to its own share;
/// when the whole table is full the oldest half-open handshake makes way. Linux routes all of
/// 127.0.0.0/8 to the loopback interface, which gives the tests several source addresses.
/// </summary>
public class HalfOpenStormTests
{
    private static readonly IPAddress Elsewhere = IPAddress.Parse("127.0.1.1");

    [Test]
    [CancelAfter(60_000)]
    public async Task A_thousand_half_open_handshakes_from_one_address_fill_only_its_share_and_a_client_from_elsewhere_connects_during_the_storm(CancellationToken ct)
    {
        const int Storm = 1_000;
        const int PerAddress = 32;
        await using DtlsListener listener = DtlsListener.Listen(Options(maxPendingPerAddress: PerAddress));
        await using EchoServer echo = EchoServer.Start(listener);
        var stopwatch = Stopwatch.StartNew();
        Task storm = HalfOpenAsync(listener, Storm, _ => IPAddress.Loopback, ct);

        using DtlsContext clientContext = ClientContext();
        Assert.That(await WaitUntilAsync(() => listener.Statistics.PendingHandshakes >= PerAddress / 2, TimeSpan.FromSeconds(10), ct), Is.True, "the storm is under way");
        var connecting = Stopwatch.StartNew();
        using (Client client = await ConnectAsync(listener.LocalEndPoint, clientContext, ct, from: Elsewhere))
        {
            await EchoAsync(client.Session, [1, 2, 3], ct);
        }

        connecting.Stop();
        await storm;
        Assert.That(await WaitUntilAsync(() => listener.Statistics.RefusedOverSourceLimit + listener.Statistics.HandshakesStarted >= Storm, TimeSpan.FromSeconds(10), ct), Is.True, listener.Statistics.ToString());
        DtlsListenerStatistics stats = listener.Statistics;
        TestContext.Out.WriteLine($"storm of {Storm} in {stopwatch.ElapsedMilliseconds} ms; the client from {Elsewhere} connected and echoed in {connecting.ElapsedMilliseconds} ms; {stats}");
        Assert.That(stats.PendingHandshakes, Is.LessThanOrEqualTo(PerAddress));
        Assert.That(stats.HandshakesStarted, Is.EqualTo(PerAddress + 1), "the address's share, and the client");
        Assert.That(stats.RefusedOverSourceLimit, Is.EqualTo(Storm - PerAddress));
        Assert.That(stats.CookiesSent, Is.EqualTo(Storm + 1), "the cookie exchange stays stateless for everyone");
        Assert.That(connecting.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "the client is not held up by the storm");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_storm_spread_over_a_network_fills_only_the_prefix_share(CancellationToken ct)
    {
        const int PerAddress = 4;
        const int PerPrefix = 8;
        await using DtlsListener listener = DtlsListener.Listen(Options(maxPendingPerAddress: PerAddress, maxPendingPerPrefix: PerPrefix));
        await using EchoServer echo = EchoServer.Start(listener);

        // 64 half-open handshakes from 16 addresses of 127.0.0.0/24.
        await HalfOpenAsync(listener, 64, i => IPAddress.Parse($"127.0.0.{2 + (i % 16)}"), ct);
        Assert.That(await WaitUntilAsync(() => listener.Statistics.RefusedOverSourceLimit + listener.Statistics.HandshakesStarted >= 64, TimeSpan.FromSeconds(10), ct), Is.True, listener.Statistics.ToString());
        Assert.That(listener.Statistics.PendingHandshakes, Is.EqualTo(PerPrefix));

        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(listener.LocalEndPoint, clientContext, ct, from: Elsewhere);
        await EchoAsync(client.Session, [1, 2, 3], ct);
        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.RefusedOverSourceLimit, Is.EqualTo(64 - PerPrefix));
        Assert.That(stats.HandshakesStarted, Is.EqualTo(PerPrefix + 1));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task When_the_table_is_full_the_oldest_half_open_handshake_makes_way_after_PendingHandshakeTimeoutWhenFull(CancellationToken ct)
    {
        const int MaxPending = 20;
        TimeSpan whenFull = TimeSpan.FromMilliseconds(500);
        await using DtlsListener listener = DtlsListener.Listen(Options(
            ServerOptions(handshakeTimeout: TimeSpan.FromSeconds(30)),
            maxPending: MaxPending,
            maxPendingPerAddress: MaxPending,
            pendingTimeoutWhenFull: whenFull));
        await using EchoServer echo = EchoServer.Start(listener);
        await HalfOpenAsync(listener, MaxPending, _ => IPAddress.Loopback, ct);
        Assert.That(await WaitUntilAsync(() => listener.Statistics.PendingHandshakes == MaxPending, TimeSpan.FromSeconds(10), ct), Is.True);

        // The table is full of half-open handshakes that would hold it for 30 s.
        var connecting = Stopwatch.StartNew();
        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(listener.LocalEndPoint, clientContext, ct, from: Elsewhere);
        await EchoAsync(client.Session, [1, 2, 3], ct);
        connecting.Stop();

        DtlsListenerStatistics stats = listener.Statistics;
        TestContext.Out.WriteLine($"connected in {connecting.ElapsedMilliseconds} ms; {stats}");
        Assert.That(stats.HandshakesEvicted, Is.GreaterThanOrEqualTo(1));
        Assert.That(stats.HandshakesFailed, Is.EqualTo(stats.HandshakesEvicted));
        Assert.That(stats.PendingHandshakes, Is.LessThanOrEqualTo(MaxPending));
        // One retransmission of the client's flight (1 s) after the oldest turned 500 ms old.
        Assert.That(connecting.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "well within the 30 s HandshakeTimeout");
    }

    /// <summary>
    /// <paramref name="count"/> peers, each on its own socket from <paramref name="source"/>(i): a real
    /// cookie exchange, the ClientHello with the cookie, then silence. 50 at a time.
    /// </summary>
    internal static async Task HalfOpenAsync(DtlsListener listener, int count, Func<int, IPAddress> source, CancellationToken ct)
    {
        byte[] hello = await RawDtls.ClientHelloAsync();
        var sockets = new List<Socket>();
        try
        {
            for (int start = 0; start < count; start += 50)
            {
                await Task.WhenAll(Enumerable.Range(start, Math.Min(50, count - start)).Select(async i =>
                {
                    Socket socket = RawSocket(source(i));
                    lock (sockets)
                    {
                        sockets.Add(socket);
                    }

                    byte[] cookie = await RawDtls.GetCookieAsync(socket, listener.LocalEndPoint, ct);
                    await socket.SendToAsync(RawDtls.WithCookie(hello, cookie), listener.LocalEndPoint, ct);
                }));
            }
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }
}
