using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>The stateless cookie exchange: what an attacker who spoofs or replays ClientHellos gets (RFC 6347 §4.2.1).</summary>
public class CookieExchangeTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task A_cookieless_ClientHello_gets_a_HelloVerifyRequest_no_larger_than_itself_and_leaves_no_state(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options());
        using Socket raw = RawSocket();
        byte[] hello = await RawDtls.ClientHelloAsync();
        Assert.That(RawDtls.IsHandshake(hello, 1), Is.True, "the captured datagram is a ClientHello");

        await raw.SendToAsync(hello, listener.LocalEndPoint, ct);
        byte[]? reply = await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct);

        Assert.That(RawDtls.IsHandshake(reply, RawDtls.HandshakeHelloVerifyRequest), Is.True, "the first reply is a HelloVerifyRequest");
        Assert.That(reply!.Length, Is.LessThanOrEqualTo(hello.Length), "no amplification");
        Assert.That(reply[1..3], Is.EqualTo(new byte[] { 0xFE, 0xFF }), "record version DTLS 1.0 (RFC 6347 4.2.1)");
        Assert.That(reply[3..11], Is.EqualTo(hello[3..11]), "record sequence number copied from the ClientHello");
        Assert.That(reply[17..19], Is.EqualTo(new byte[] { 0, 0 }), "message_seq 0");
        Assert.That(reply[25..27], Is.EqualTo(new byte[] { 0xFE, 0xFF }), "server_version DTLS 1.0");
        Assert.That(RawDtls.CookieOf(reply), Has.Length.EqualTo(32));
        Assert.That(await ReceiveAsync(raw, TimeSpan.FromMilliseconds(300), ct), Is.Null, "one reply, no retransmission: nothing was stored");
        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.PendingHandshakes + stats.ActiveSessions, Is.Zero);
        Assert.That(stats.HandshakesStarted, Is.Zero);
        Assert.That(stats.CookiesSent, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Ten_thousand_cookieless_ClientHellos_from_many_ports_leave_no_state_and_no_memory(CancellationToken ct)
    {
        const int Sockets = 50;
        const int PerSocket = 200;
        const int Rounds = 3;
        await using DtlsListener listener = DtlsListener.Listen(Options());
        byte[] hello = await RawDtls.ClientHelloAsync();
        var sockets = new Socket[Sockets];
        for (int i = 0; i < sockets.Length; i++)
        {
            sockets[i] = RawSocket();
        }

        try
        {
            // A first round warms up the JIT, socket caches, pools and the thread pool. Each measured
            // round then sends 10,000 more. Growth that is noise (a thread added, a lazily built
            // structure) shows in one round; state kept per ClientHello would show in every round.
            await FloodAsync(sockets, hello, listener, PerSocket, ct);
            long fewestManaged = long.MaxValue;
            long fewestPrivate = long.MaxValue;
            long managedStart = SettledManagedMemory();
            for (int round = 1; round <= Rounds; round++)
            {
                int threadsBefore = ThreadPool.ThreadCount;
                long managedBefore = SettledManagedMemory();
                long privateBefore = PrivateBytes();
                var stopwatch = Stopwatch.StartNew();

                await FloodAsync(sockets, hello, listener, PerSocket, ct);

                stopwatch.Stop();
                long managedGrowth = SettledManagedMemory() - managedBefore;
                // A thread added by the pool reserves an 8 MB stack, which counts in private bytes.
                long privateGrowth = PrivateBytes() - privateBefore - (Math.Max(0, ThreadPool.ThreadCount - threadsBefore) * 8L * 1024 * 1024);
                fewestManaged = Math.Min(fewestManaged, managedGrowth);
                fewestPrivate = Math.Min(fewestPrivate, privateGrowth);
                TestContext.Out.WriteLine($"round {round}: {Sockets * PerSocket} ClientHellos answered in {stopwatch.ElapsedMilliseconds} ms; managed heap {managedGrowth:+#;-#;0} bytes, private bytes (less new thread stacks) {privateGrowth:+#;-#;0}");
            }

            long managedTotal = SettledManagedMemory() - managedStart;
            Assert.That(await WaitUntilAsync(() => listener.Statistics.CookiesSent == (Rounds + 1) * Sockets * PerSocket, TimeSpan.FromSeconds(5), ct), Is.True);
            DtlsListenerStatistics stats = listener.Statistics;
            TestContext.Out.WriteLine(stats);
            Assert.That(stats.PendingHandshakes, Is.Zero);
            Assert.That(stats.ActiveSessions, Is.Zero);
            Assert.That(stats.HandshakesStarted, Is.Zero);
            Assert.That(fewestManaged, Is.LessThan(64 * 1024), "managed heap after a full GC, per 10,000 ClientHellos");
            Assert.That(managedTotal, Is.LessThan(1024 * 1024), $"managed heap after {Rounds * Sockets * PerSocket} ClientHellos");
            // 10,000 sessions would take hundreds of megabytes.
            Assert.That(fewestPrivate, Is.LessThan(8L * 1024 * 1024), "process private bytes, per 10,000 ClientHellos");
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task The_cookie_path_allocates_nothing_per_datagram(CancellationToken ct)
    {
        const int Batches = 50;
        const int PerBatch = 100;
        await using DtlsListener listener = DtlsListener.Listen(Options());
        using Socket raw = RawSocket();
        byte[] hello = await RawDtls.ClientHelloAsync();
        SocketAddress target = listener.LocalEndPoint.Serialize();

        // Synchronous sends and receives into one buffer: the test itself allocates nothing per datagram.
        raw.ReceiveTimeout = 5000;
        byte[] reply = new byte[2048];
        void Run()
        {
            for (int batch = 0; batch < Batches; batch++)
            {
                for (int i = 0; i < PerBatch; i++)
                {
                    raw.SendTo(hello, SocketFlags.None, target);
                }

                for (int i = 0; i < PerBatch; i++)
                {
                    if (raw.Receive(reply, SocketFlags.None) > hello.Length || reply[13] != RawDtls.HandshakeHelloVerifyRequest)
                    {
                        throw new AssertionException("not a HelloVerifyRequest");
                    }
                }
            }
        }

        await Task.Run(Run, ct);

        // The fewest bytes over five rounds: whatever else the process does (timers of other
        // tests' sessions, thread injection, tiered JIT) allocates now and then, the receive loop never.
        const int Rounds = 5;
        long allocated = long.MaxValue;
        for (int round = 0; round < Rounds; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            await Task.Run(Run, ct);
            allocated = Math.Min(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        TestContext.Out.WriteLine($"{Batches * PerBatch} ClientHellos answered; {allocated} bytes allocated in the whole process ({(double)allocated / (Batches * PerBatch):0.00} per datagram)");
        // One allocation per datagram would be at least 24 bytes each (120 KB here).
        Assert.That(allocated, Is.LessThan(Batches * PerBatch * 4));
        // The counter moves just after the send returns, so the last reply can beat it.
        Assert.That(await WaitUntilAsync(() => listener.Statistics.CookiesSent == (1 + Rounds) * Batches * PerBatch, TimeSpan.FromSeconds(5), ct), Is.True);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task A_forged_cookie_gets_a_new_HelloVerifyRequest_never_a_ServerHello(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options());
        using Socket raw = RawSocket();
        byte[] hello = await RawDtls.ClientHelloAsync();

        foreach (byte[] forged in new[] { RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(255), new byte[32] })
        {
            await raw.SendToAsync(RawDtls.WithCookie(hello, forged), listener.LocalEndPoint, ct);
            byte[]? reply = await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct);
            Assert.That(RawDtls.IsHandshake(reply, RawDtls.HandshakeHelloVerifyRequest), Is.True, $"a {forged.Length}-byte forged cookie gets a HelloVerifyRequest");
        }

        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.CookiesRejected, Is.EqualTo(4));
        Assert.That(stats.HandshakesStarted, Is.Zero);
        Assert.That(stats.PendingHandshakes, Is.Zero);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task An_expired_cookie_is_refused_after_two_rotations_and_a_fresh_one_starts_the_handshake([Values(1, 60, 300)] int rotationSeconds, CancellationToken ct)
    {
        // The listener's clock is a FakeTimeProvider: the rotations pass without waiting. The lifetime
        // (10 minutes, the most allowed) is at least two rotations, so only the rotation refuses the cookie.
        TimeSpan rotation = TimeSpan.FromSeconds(rotationSeconds);
        var clock = new FakeTimeProvider();
        DtlsListenerOptions options = Options(ServerOptions(handshakeTimeout: TimeSpan.FromHours(1)), cookieRotation: rotation, cookieLifetime: TimeSpan.FromMinutes(10));
        options.TimeProvider = clock;
        await using DtlsListener listener = DtlsListener.Listen(options);
        using Socket raw = RawSocket();
        byte[] hello = await RawDtls.ClientHelloAsync();
        byte[] cookie = await RawDtls.GetCookieAsync(raw, listener.LocalEndPoint, ct);
        using Socket early = RawSocket();
        byte[] earlyCookie = await RawDtls.GetCookieAsync(early, listener.LocalEndPoint, ct);

        // A cookie lives between one and two rotation periods: after one period it still verifies...
        clock.Advance(rotation);
        await early.SendToAsync(RawDtls.WithCookie(hello, earlyCookie), listener.LocalEndPoint, ct);
        Assert.That(RawDtls.IsHandshake(await ReceiveAsync(early, TimeSpan.FromSeconds(5), ct), RawDtls.HandshakeServerHello), Is.True, "one rotation later the cookie still verifies (previous key)");
        Assert.That(listener.Statistics.HandshakesStarted, Is.EqualTo(1));

        // ...and after two it does not.
        clock.Advance(rotation);
        await raw.SendToAsync(RawDtls.WithCookie(hello, cookie), listener.LocalEndPoint, ct);
        byte[]? reply = await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct);
        Assert.That(RawDtls.IsHandshake(reply, RawDtls.HandshakeHelloVerifyRequest), Is.True, "an expired cookie gets a new HelloVerifyRequest");
        Assert.That(listener.Statistics.CookiesRejected, Is.EqualTo(1));
        Assert.That(listener.Statistics.HandshakesStarted, Is.EqualTo(1));

        // The cookie in that HelloVerifyRequest is fresh: used at once, it starts the handshake.
        await raw.SendToAsync(RawDtls.WithCookie(hello, RawDtls.CookieOf(reply!)), listener.LocalEndPoint, ct);
        byte[]? serverHello = await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct);
        Assert.That(RawDtls.IsHandshake(serverHello, RawDtls.HandshakeServerHello), Is.True, "a valid cookie gets the ServerHello flight");
        Assert.That(listener.Statistics.HandshakesStarted, Is.EqualTo(2));
        Assert.That(listener.Statistics.PendingHandshakes, Is.EqualTo(2), listener.Statistics.ToString());
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task A_cookie_obtained_from_one_port_is_refused_from_another(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options());
        using Socket owner = RawSocket();
        using Socket thief = RawSocket();
        byte[] hello = await RawDtls.ClientHelloAsync();
        byte[] cookie = await RawDtls.GetCookieAsync(owner, listener.LocalEndPoint, ct);

        await thief.SendToAsync(RawDtls.WithCookie(hello, cookie), listener.LocalEndPoint, ct);
        byte[]? reply = await ReceiveAsync(thief, TimeSpan.FromSeconds(5), ct);
        Assert.That(RawDtls.IsHandshake(reply, RawDtls.HandshakeHelloVerifyRequest), Is.True);
        Assert.That(RawDtls.CookieOf(reply!), Is.Not.EqualTo(cookie), "each address and port has its own cookie");
        Assert.That(listener.Statistics.CookiesRejected, Is.EqualTo(1));
        Assert.That(listener.Statistics.PendingHandshakes, Is.Zero);

        await owner.SendToAsync(RawDtls.WithCookie(hello, cookie), listener.LocalEndPoint, ct);
        Assert.That(RawDtls.IsHandshake(await ReceiveAsync(owner, TimeSpan.FromSeconds(5), ct), RawDtls.HandshakeServerHello), Is.True, "the owner's own cookie works");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Listeners_sharing_a_cookie_secret_accept_each_others_cookies(CancellationToken ct)
    {
        byte[] secret = RandomNumberGenerator.GetBytes(32);
        DtlsListenerOptions template = Options();
        DtlsListenerOptions WithSecret(byte[] s) => new()
        {
            LocalEndPoint = template.LocalEndPoint,
            ServerOptions = template.ServerOptions,
            CookieSecret = s,
        };

        await using DtlsListener first = DtlsListener.Listen(WithSecret(secret));
        await using DtlsListener second = DtlsListener.Listen(WithSecret(secret));
        await using DtlsListener stranger = DtlsListener.Listen(WithSecret(RandomNumberGenerator.GetBytes(32)));
        using Socket raw = RawSocket();
        byte[] hello = RawDtls.WithCookie(await RawDtls.ClientHelloAsync(), await RawDtls.GetCookieAsync(raw, first.LocalEndPoint, ct));

        await raw.SendToAsync(hello, second.LocalEndPoint, ct);
        Assert.That(RawDtls.IsHandshake(await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct), RawDtls.HandshakeServerHello), Is.True, "a fleet member verifies another's cookie");
        while (await ReceiveAsync(raw, TimeSpan.FromMilliseconds(200), ct) is not null)
        {
            // The rest of the ServerHello flight.
        }

        await raw.SendToAsync(hello, stranger.LocalEndPoint, ct);
        Assert.That(RawDtls.IsHandshake(await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct), RawDtls.HandshakeHelloVerifyRequest), Is.True, "a listener with another secret does not");
    }

    private static async Task FloodAsync(Socket[] sockets, byte[] hello, DtlsListener listener, int perSocket, CancellationToken ct)
    {
        await Task.WhenAll(sockets.Select(socket => Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            for (int i = 0; i < perSocket; i++)
            {
                // One in flight per socket: on loopback nothing is lost, so every ClientHello is answered.
                await socket.SendToAsync(hello, SocketFlags.None, listener.LocalEndPoint, ct);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n > hello.Length || buffer[13] != RawDtls.HandshakeHelloVerifyRequest)
                {
                    throw new AssertionException($"reply {i} was not a HelloVerifyRequest no larger than the ClientHello ({n} bytes, type {buffer[13]})");
                }
            }
        }, ct)));
    }

    private static long SettledManagedMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static long PrivateBytes()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.PrivateMemorySize64;
    }
}
