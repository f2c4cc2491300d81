using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>Every limit is enforced and counted, and whatever is over a limit leaves the rest working.</summary>
public class ListenerLimitTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task MaxSessions_refuses_new_peers_and_counts_them_while_existing_sessions_keep_working(CancellationToken ct)
    {
        using var meters = new TestMeterFactory();
        using var refusals = new MetricCollector<long>(meters, DtlsMetrics.MeterName, DtlsMetrics.ServerRefusedHandshakes);
        DtlsListenerOptions options = Options(maxSessions: 2);
        options.MeterFactory = meters;
        await using DtlsListener listener = DtlsListener.Listen(options);
        await using EchoServer echo = EchoServer.Start(listener);
        using DtlsContext clientContext = ClientContext();
        using DtlsContext impatient = ClientContext(TimeSpan.FromSeconds(1.5));
        using Client first = await ConnectAsync(listener, clientContext, ct);
        using Client second = await ConnectAsync(listener, clientContext, ct);

        Assert.That(async () => await ConnectAsync(listener, impatient, ct), Throws.InstanceOf<TimeoutException>());

        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.RefusedOverSessionLimit, Is.GreaterThanOrEqualTo(1), "the third peer's verified ClientHellos were refused");
        object?[] reasons = [.. refusals.GetMeasurementSnapshot().Select(m => m.Tags["error.type"])];
        Assert.That(reasons, Has.Length.EqualTo(stats.RefusedOverSessionLimit).And.All.EqualTo("over_session_limit"), "each refusal is on the meter, by reason");
        Assert.That(stats.ActiveSessions, Is.EqualTo(2));
        Assert.That(stats.PendingHandshakes, Is.Zero);
        await EchoAsync(first.Session, [1], ct);
        await EchoAsync(second.Session, [2], ct);

        // A slot freed is a slot for the next peer.
        await first.Session.ShutdownAsync(ct);
        Assert.That(await WaitUntilAsync(() => listener.Statistics.ActiveSessions == 1, TimeSpan.FromSeconds(5), ct), Is.True);
        using Client third = await ConnectAsync(listener, clientContext, ct);
        await EchoAsync(third.Session, [3], ct);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task MaxPendingHandshakes_refuses_and_counts_while_the_pending_ones_run_out_their_timeout(CancellationToken ct)
    {
        // The listener's clock is a FakeTimeProvider: the 30 s HandshakeTimeout passes when the test says.
        var clock = new FakeTimeProvider();
        DtlsListenerOptions options = Options(ServerOptions(handshakeTimeout: TimeSpan.FromSeconds(30)), maxPending: 2);
        options.TimeProvider = clock;
        await using DtlsListener listener = DtlsListener.Listen(options);
        await using EchoServer echo = EchoServer.Start(listener);
        using Socket a = RawSocket();
        using Socket b = RawSocket();
        using Socket c = RawSocket();
        Assert.That(RawDtls.IsHandshake(await StartAndStallAsync(a, listener, ct), RawDtls.HandshakeServerHello), Is.True);
        Assert.That(RawDtls.IsHandshake(await StartAndStallAsync(b, listener, ct), RawDtls.HandshakeServerHello), Is.True);
        Assert.That(listener.Statistics.PendingHandshakes, Is.EqualTo(2));

        byte[]? refused = await StartAndStallAsync(c, listener, ct);

        Assert.That(refused, Is.Null, "over the limit: no reply at all");
        Assert.That(listener.Statistics.RefusedOverPendingLimit, Is.EqualTo(1));
        Assert.That(listener.Statistics.PendingHandshakes, Is.EqualTo(2));

        // The stalled handshakes end at HandshakeTimeout (not a moment before); then a real client gets in.
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.That(listener.Statistics.PendingHandshakes, Is.EqualTo(2), "before HandshakeTimeout");
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(await WaitUntilAsync(() => listener.Statistics.PendingHandshakes == 0, TimeSpan.FromSeconds(5), ct), Is.True);
        Assert.That(listener.Statistics.HandshakesTimedOut, Is.EqualTo(2));
        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(listener, clientContext, ct);
        await EchoAsync(client.Session, [42], ct);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_peer_that_stalls_after_the_cookie_is_dropped_at_the_handshake_timeout_and_a_retransmitted_ClientHello_does_not_restart_it(CancellationToken ct)
    {
        var clock = new FakeTimeProvider();
        DtlsListenerOptions options = Options(ServerOptions(handshakeTimeout: TimeSpan.FromSeconds(30)));
        options.TimeProvider = clock;
        await using DtlsListener listener = DtlsListener.Listen(options);
        using Socket raw = RawSocket();
        byte[] hello = await RawDtls.ClientHelloAsync();
        byte[] cookie = await RawDtls.GetCookieAsync(raw, listener.LocalEndPoint, ct);
        byte[] withCookie = RawDtls.WithCookie(hello, cookie);
        await raw.SendToAsync(withCookie, listener.LocalEndPoint, ct);
        Assert.That(RawDtls.IsHandshake(await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct), RawDtls.HandshakeServerHello), Is.True);
        Assert.That(listener.Statistics.PendingHandshakes, Is.EqualTo(1));

        // The same ClientHello again (a retransmission): the handshake goes on, it is not started over.
        await raw.SendToAsync(withCookie, listener.LocalEndPoint, ct);
        // A barrier instead of a wait: the one receive loop handles datagrams in order, so once another
        // socket's ClientHello has been answered, the retransmission sent before it has been handled.
        using (Socket barrier = RawSocket())
        {
            await RawDtls.GetCookieAsync(barrier, listener.LocalEndPoint, ct);
        }

        Assert.That(listener.Statistics.HandshakesStarted, Is.EqualTo(1));
        Assert.That(listener.Statistics.SessionsReplaced, Is.Zero);
        Assert.That(listener.Statistics.PendingHandshakes, Is.EqualTo(1));

        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.That(await WaitUntilAsync(() => listener.Statistics.PendingHandshakes == 0, TimeSpan.FromSeconds(5), ct), Is.True, "dropped at the handshake timeout");
        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.HandshakesTimedOut, Is.EqualTo(1));
        Assert.That(stats.HandshakesFailed, Is.EqualTo(1));
        Assert.That(stats.ActiveSessions, Is.Zero);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task MaxDatagramSize_drops_and_counts_larger_datagrams(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options(maxDatagramSize: 1300));
        await using EchoServer echo = EchoServer.Start(listener);
        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(listener, clientContext, ct);
        using Socket raw = RawSocket();

        await raw.SendToAsync(new byte[1301], listener.LocalEndPoint, ct);
        await raw.SendToAsync(new byte[60_000], listener.LocalEndPoint, ct);
        client.Socket.Send(new byte[1400]);

        Assert.That(await WaitUntilAsync(() => listener.Statistics.DroppedTooLarge == 3, TimeSpan.FromSeconds(5), ct), Is.True, $"{listener.Statistics}");
        await EchoAsync(client.Session, RandomNumberGenerator.GetBytes(1000), ct);
        Assert.That(listener.Statistics.DroppedMalformed, Is.Zero);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task MaxQueuedDatagramsPerSession_bounds_each_sessions_receive_queue_and_counts_the_drops(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options(maxQueued: 4));
        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(listener, clientContext, ct);
        await using DtlsSession server = await listener.AcceptAsync(ct);

        // Nobody reads on the server side while ten datagrams arrive.
        for (byte i = 0; i < 10; i++)
        {
            await client.Session.SendAsync(new[] { i }, ct);
        }

        Assert.That(await WaitUntilAsync(() => listener.Statistics.DroppedQueueFull == 6, TimeSpan.FromSeconds(5), ct), Is.True, $"{listener.Statistics}");
        Assert.That(server.DroppedDatagrams, Is.EqualTo(6));
        byte[] buffer = new byte[10];
        for (byte i = 0; i < 4; i++)
        {
            Assert.That(await server.ReceiveAsync(buffer, ct), Is.EqualTo(1));
            Assert.That(buffer[0], Is.EqualTo(i), "the first four were kept, in order");
        }

        // Room again: the session goes on.
        await client.Session.SendAsync(new byte[] { 99 }, ct);
        Assert.That(await server.ReceiveAsync(buffer, ct), Is.EqualTo(1));
        Assert.That(buffer[0], Is.EqualTo(99));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Garbage_datagrams_are_dropped_and_counted_and_established_sessions_are_unaffected(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options());
        await using EchoServer echo = EchoServer.Start(listener);
        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(listener, clientContext, ct);
        await EchoAsync(client.Session, [1, 2, 3], ct);
        byte[] hello = await RawDtls.ClientHelloAsync();

        byte[] absurdRecordLength = [.. hello];
        absurdRecordLength[11] = 0xFF;
        absurdRecordLength[12] = 0xFF;
        byte[] absurdMessageLength = [.. hello];
        absurdMessageLength[22] = 0xFF; // fragment_length far beyond the record
        byte[] absurdCookieLength = [.. hello];
        absurdCookieLength[25 + 2 + 32 + 1 + hello[25 + 2 + 32]] = 0xFF;
        byte[] notDtls = [.. hello];
        notDtls[1] = 0x03; // a TLS record version
        byte[] fragment = [.. hello];
        fragment[21] = 1; // fragment_offset 1: the cookie cannot be checked statelessly
        byte[][] malformed =
        [
            [],
            [22],
            hello[..12],
            hello[..40],
            hello[..^1],
            absurdRecordLength,
            absurdMessageLength,
            absurdCookieLength,
            notDtls,
            fragment,
        ];
        byte[] certificateMessage = [.. hello];
        certificateMessage[13] = 11;
        byte[] applicationData = [23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 7, 0, 4, 1, 2, 3, 4];
        byte[] alert = [21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 2, 40];
        byte[][] notClientHello = [certificateMessage, applicationData, alert];

        using Socket raw = RawSocket();
        long receivedBefore = listener.Statistics.DatagramsReceived;
        foreach (byte[] datagram in malformed.Concat(notClientHello))
        {
            await raw.SendToAsync(datagram, listener.LocalEndPoint, ct);
        }

        var random = new Random(1234);
        for (int i = 0; i < 200; i++)
        {
            byte[] noise = new byte[random.Next(1, 1500)];
            random.NextBytes(noise);
            await raw.SendToAsync(noise, listener.LocalEndPoint, ct);
        }

        Assert.That(await WaitUntilAsync(() => listener.Statistics.DatagramsReceived == receivedBefore + 213, TimeSpan.FromSeconds(5), ct), Is.True, $"{listener.Statistics}");
        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.DroppedMalformed, Is.GreaterThanOrEqualTo(malformed.Length));
        Assert.That(stats.DroppedNotClientHello, Is.GreaterThanOrEqualTo(notClientHello.Length));
        Assert.That(stats.DroppedMalformed + stats.DroppedNotClientHello, Is.EqualTo(213), "every garbage datagram dropped and counted");
        Assert.That(await ReceiveAsync(raw, TimeSpan.FromMilliseconds(200), ct), Is.Null, "garbage gets no reply");

        // The same garbage from the established peer's own address: the session discards it (RFC 6347 4.1.2.7).
        foreach (byte[] datagram in malformed.Concat(notClientHello).Where(d => d.Length > 0))
        {
            client.Socket.Send(datagram);
        }

        for (int i = 0; i < 50; i++)
        {
            byte[] noise = new byte[random.Next(1, 1200)];
            random.NextBytes(noise);
            client.Socket.Send(noise);
        }

        await EchoAsync(client.Session, [4, 5, 6], ct);
        Assert.That(listener.Statistics.ActiveSessions, Is.EqualTo(1));
        Assert.That(listener.Statistics.PendingHandshakes, Is.Zero);
    }

    [TestCase("ECDHE-ECDSA-AES128-GCM-SHA256")]
    [TestCase("ECDHE-ECDSA-CHACHA20-POLY1305")]
    [CancelAfter(30_000)]
    public async Task Forged_short_or_unknown_records_from_the_peers_address_do_not_end_its_session(string cipher, CancellationToken ct)
    {
        // OpenSSL 3.x answers an encrypted record shorter than the AEAD overhead, or an unknown
        // content type, with a fatal alert (openssl issues 25290, 25389); the listener must not let
        // a spoofed datagram reach it.
        DtlsServerOptions server = ServerOptions();
        await using DtlsListener listener = DtlsListener.Listen(Options(new DtlsServerOptions
        {
            Certificate = server.Certificate,
            CipherList = cipher,
            SessionCacheSize = 0,
        }));
        await using EchoServer echo = EchoServer.Start(listener);
        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(listener, clientContext, ct);
        await EchoAsync(client.Session, [1], ct);
        long droppedBefore = listener.Statistics.DroppedMalformed;

        int forged = 0;
        foreach (byte type in new byte[] { 20, 21, 22, 23, 24, 99, 255 })
        {
            for (int length = 0; length <= 40; length++)
            {
                byte[] record = new byte[13 + length];
                record[0] = type;
                record[1] = 0xFE;
                record[2] = 0xFD;
                record[4] = 1; // epoch 1: an encrypted record
                record[10] = (byte)(100 + length);
                record[11] = 0;
                record[12] = (byte)length;
                client.Socket.Send(record);
                forged++;
            }
        }

        await EchoAsync(client.Session, [2, 3], ct);
        Assert.That(listener.Statistics.ActiveSessions, Is.EqualTo(1));
        Assert.That(listener.Statistics.DroppedMalformed - droppedBefore, Is.GreaterThan(0).And.LessThan(forged));
        TestContext.Out.WriteLine($"{client.Session.CipherSuite}: {listener.Statistics.DroppedMalformed - droppedBefore} of {forged} forged records dropped before OpenSSL");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Idle_sessions_are_reaped_and_busy_ones_are_kept([Values(1, 300)] int idleSeconds, CancellationToken ct)
    {
        // The listener's clock is a FakeTimeProvider: IdleTimeout passes when the test advances it.
        TimeSpan idleTimeout = TimeSpan.FromSeconds(idleSeconds);
        var clock = new FakeTimeProvider();
        DtlsListenerOptions options = Options(idleTimeout: idleTimeout);
        options.TimeProvider = clock;
        await using DtlsListener listener = DtlsListener.Listen(options);
        using DtlsContext clientContext = ClientContext();
        using Client idle = await ConnectAsync(listener, clientContext, ct);
        using Client busy = await ConnectAsync(listener, clientContext, ct);
        DtlsSession first = await listener.AcceptAsync(ct);
        DtlsSession second = await listener.AcceptAsync(ct);
        DtlsSession busyServer = first.RemoteEndPoint!.Equals(busy.Socket.LocalEndPoint) ? first : second;
        Task<int> idleClientReceive = idle.Session.ReceiveAsync(new byte[100], ct).AsTask();

        byte[] buffer = new byte[10];
        for (int i = 0; i < 10; i++)
        {
            await busy.Session.SendAsync(new[] { (byte)i }, ct);
            Assert.That(await busyServer.ReceiveAsync(buffer, ct), Is.EqualTo(1));
            clock.Advance(idleTimeout / 4);
        }

        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.IdleSessionsReaped, Is.EqualTo(1));
        Assert.That(stats.ActiveSessions, Is.EqualTo(1), "the session with traffic outlived 2.5 idle timeouts");
        Assert.That(await idleClientReceive, Is.Zero, "the reaped session sent close_notify");
        busyServer.Dispose();
        Assert.That(listener.Statistics.ActiveSessions, Is.Zero);
    }

    [Test]
    [CancelAfter(10_000)]
    public void Invalid_options_are_refused_with_the_setting_named()
    {
        DtlsListenerOptions valid = Options();
        (string Name, DtlsListenerOptions Options)[] cases =
        [
            ("LocalEndPoint", new() { LocalEndPoint = new DnsEndPoint("localhost", 0), ServerOptions = valid.ServerOptions }),
            ("MaxSessions", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, MaxSessions = 0 }),
            ("MaxPendingHandshakes", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, MaxPendingHandshakes = 0 }),
            ("IdleTimeout", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, IdleTimeout = TimeSpan.Zero }),
            ("MaxQueuedDatagramsPerSession", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, MaxQueuedDatagramsPerSession = 0 }),
            ("MaxDatagramSize", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, MaxDatagramSize = 100 }),
            ("ReceiveLoops", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, ReceiveLoops = 0 }),
            ("CookieSecret", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, CookieSecret = new byte[8] }),
            ("CookieSecretRotation", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, CookieSecretRotation = TimeSpan.Zero }),
            ("Mtu", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = new DtlsServerOptions { Certificate = Certificate, Mtu = 10 } }),
            ("MaxPendingHandshakesPerAddress", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, MaxPendingHandshakesPerAddress = 0 }),
            ("MaxPendingPskLookups", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, MaxPendingPskLookups = 0 }),
            ("MaxPendingHandshakesPerPrefix", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, MaxPendingHandshakesPerAddress = 10, MaxPendingHandshakesPerPrefix = 9 }),
            ("PendingHandshakeTimeoutWhenFull", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, PendingHandshakeTimeoutWhenFull = TimeSpan.Zero }),
            ("MaxHandshakeReassemblyBytes", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, MaxHandshakeReassemblyBytes = 1000 }),
            ("MaxHandshakeReassemblyBytes", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, MaxHandshakeReassemblyBytes = 0x1000000 }),
            ("MaxQueuedBytes", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, MaxQueuedBytes = 65_535 }),
            ("CookieLifetime", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, CookieLifetime = TimeSpan.FromMilliseconds(500) }),
            ("CookieLifetime", new() { LocalEndPoint = valid.LocalEndPoint, ServerOptions = valid.ServerOptions, CookieLifetime = TimeSpan.FromMinutes(11) }),
        ];
        foreach ((string name, DtlsListenerOptions options) in cases)
        {
            Assert.That(() => DtlsListener.Listen(options), Throws.InstanceOf<ArgumentException>().With.Property(nameof(ArgumentException.ParamName)).EqualTo(name), name);
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task A_port_in_use_is_a_SocketException(CancellationToken ct)
    {
        await using DtlsListener first = DtlsListener.Listen(Options());
        Assert.That(() => DtlsListener.Listen(new DtlsListenerOptions { LocalEndPoint = first.LocalEndPoint, ServerOptions = ServerOptions() }), Throws.InstanceOf<SocketException>());
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Several_receive_loops_share_the_port(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(new DtlsListenerOptions
        {
            LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            ServerOptions = ServerOptions(),
            ReceiveLoops = 4,
        });
        await using EchoServer echo = EchoServer.Start(listener);
        using DtlsContext clientContext = ClientContext();
        var clients = new List<Client>();
        try
        {
            for (int i = 0; i < 16; i++)
            {
                clients.Add(await ConnectAsync(listener, clientContext, ct));
            }

            await Task.WhenAll(clients.Select(c => EchoAsync(c.Session, RandomNumberGenerator.GetBytes(200), ct)));
            Assert.That(listener.Statistics.ActiveSessions, Is.EqualTo(16));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    /// <summary>Cookie exchange, then the ClientHello with the cookie; returns the first reply (null if none) and goes silent.</summary>
    private static async Task<byte[]?> StartAndStallAsync(Socket raw, DtlsListener listener, CancellationToken ct)
    {
        byte[] cookie = await RawDtls.GetCookieAsync(raw, listener.LocalEndPoint, ct);
        await raw.SendToAsync(RawDtls.WithCookie(await RawDtls.ClientHelloAsync(), cookie), listener.LocalEndPoint, ct);
        return await ReceiveAsync(raw, TimeSpan.FromMilliseconds(500), ct);
    }
}
