using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>Many peers on one port: handshakes, echo, restarts and the listener's end.</summary>
public class ListenerSessionTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task One_client_handshakes_and_echoes(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options());
        await using EchoServer echo = EchoServer.Start(listener);
        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(listener, clientContext, ct);

        Assert.That(client.Session.ProtocolVersion, Is.EqualTo("DTLSv1.2"));
        await EchoAsync(client.Session, RandomNumberGenerator.GetBytes(1000), ct);
        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.ActiveSessions, Is.EqualTo(1));
        Assert.That(stats.HandshakesCompleted, Is.EqualTo(1));
        Assert.That(stats.CookiesSent, Is.EqualTo(1));
        Assert.That(stats.CookiesVerified, Is.GreaterThanOrEqualTo(1));

        await client.Session.ShutdownAsync(ct);
        Assert.That(await WaitUntilAsync(() => listener.Statistics.ActiveSessions == 0, TimeSpan.FromSeconds(5), ct), Is.True);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Dual_mode_listener_on_IPv6Any_serves_IPv4_peers(CancellationToken ct)
    {
        DtlsListenerOptions options = Options();
        await using DtlsListener listener = DtlsListener.Listen(new DtlsListenerOptions
        {
            LocalEndPoint = new IPEndPoint(IPAddress.IPv6Any, 0),
            ServerOptions = options.ServerOptions,
        });
        await using EchoServer echo = EchoServer.Start(listener);
        using DtlsContext clientContext = ClientContext();
        await using DtlsSession session = await DtlsClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, listener.LocalEndPoint.Port), clientContext, ct);
        await EchoAsync(session, RandomNumberGenerator.GetBytes(300), ct);
    }
    [Test]
    [CancelAfter(80_000)]
    public async Task A_thousand_concurrent_clients_handshake_echo_and_are_reaped_after_closing(CancellationToken ct)
    {
        const int Clients = 1000;
        const int DatagramsEach = 10;
        await using DtlsListener listener = DtlsListener.Listen(Options());
        await using EchoServer echo = EchoServer.Start(listener);
        using DtlsContext clientContext = ClientContext(TimeSpan.FromSeconds(30));
        var sessions = new DtlsSession[Clients];
        try
        {
            // Bounded concurrency so that a 2-core machine is not asked for 1000 key exchanges at
            // once; every session stays open until all have connected.
            await ForEachAsync(Clients, 32, async i =>
                sessions[i] = await DtlsClient.ConnectAsync(listener.LocalEndPoint, clientContext, ct), ct);

            Assert.That(await WaitUntilAsync(() => listener.Statistics.ActiveSessions == Clients, TimeSpan.FromSeconds(10), ct), Is.True,
                $"all {Clients} sessions live at once: {listener.Statistics}");
            Assert.That(await WaitUntilAsync(() => echo.Accepted == Clients, TimeSpan.FromSeconds(10), ct), Is.True, "every session was handed to AcceptAsync");

            await ForEachAsync(Clients, 64, async i =>
            {
                for (int k = 0; k < DatagramsEach; k++)
                {
                    // Every datagram distinct, so that a mix-up between peers would show.
                    byte[] payload = RandomNumberGenerator.GetBytes(16 + ((i * 7 + k * 13) % 1000));
                    BitConverter.TryWriteBytes(payload, i);
                    BitConverter.TryWriteBytes(payload.AsSpan(4), k);
                    await EchoAsync(sessions[i], payload, ct);
                }
            }, ct);

            await ForEachAsync(Clients, 64, async i => await sessions[i].ShutdownAsync(ct), ct);
            Assert.That(await WaitUntilAsync(() => listener.Statistics.ActiveSessions == 0, TimeSpan.FromSeconds(20), ct), Is.True,
                $"every session reaped after its peer closed: {listener.Statistics}");
            DtlsListenerStatistics stats = listener.Statistics;
            Assert.That(stats.HandshakesCompleted, Is.EqualTo(Clients));
            Assert.That(stats.HandshakesFailed, Is.Zero);
            Assert.That(stats.PendingHandshakes, Is.Zero);
            Assert.That(echo.ClosedByPeer, Is.EqualTo(Clients));
            TestContext.Out.WriteLine(stats);
        }
        finally
        {
            foreach (DtlsSession? session in sessions)
            {
                session?.Dispose();
            }
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_client_restarted_on_the_same_port_replaces_its_old_association(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options());
        using DtlsContext clientContext = ClientContext();
        using Client first = await ConnectAsync(listener, clientContext, ct);
        DtlsSession oldServerSide = await listener.AcceptAsync(ct);
        await first.Session.SendAsync(new byte[] { 1, 2, 3 }, ct);
        byte[] buffer = new byte[100];
        Assert.That(await oldServerSide.ReceiveAsync(buffer, ct), Is.EqualTo(3));
        Task<int> oldReceive = oldServerSide.ReceiveAsync(buffer, ct).AsTask();

        // The "restarted" client: it crashes (its socket closes, no close_notify) and comes back on
        // the same address and port with a new session, as a rebooted device would.
        var clientAddress = (IPEndPoint)first.Socket.LocalEndPoint!;
        EndPoint server = first.Socket.RemoteEndPoint!;
        first.Socket.Dispose();
        using var again = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        again.Bind(clientAddress);
        again.Connect(server);
        await using var second = new DtlsSession(clientContext, again);
        await second.ConnectAsync(ct);
        DtlsSession newServerSide = await listener.AcceptAsync(ct);

        Assert.That(newServerSide, Is.Not.SameAs(oldServerSide));
        Assert.That(newServerSide.RemoteEndPoint, Is.EqualTo(clientAddress));
        Assert.That(async () => await oldServerSide.ReceiveAsync(buffer, ct), Throws.InstanceOf<ObjectDisposedException>().Or.InstanceOf<DtlsException>());
        Assert.That(async () => await oldReceive, Throws.InstanceOf<DtlsException>(), "a reader of the replaced session learns why");
        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.SessionsReplaced, Is.EqualTo(1));
        Assert.That(stats.ActiveSessions, Is.EqualTo(1));

        await second.SendAsync(new byte[] { 9, 8, 7, 6 }, ct);
        Assert.That(await newServerSide.ReceiveAsync(buffer, ct), Is.EqualTo(4));
        Assert.That(buffer[..4], Is.EqualTo(new byte[] { 9, 8, 7, 6 }));
        await newServerSide.SendAsync(new byte[] { 5 }, ct);
        Assert.That(await second.ReceiveAsync(buffer, ct), Is.EqualTo(1));
        newServerSide.Dispose();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Unverified_or_retransmitted_ClientHellos_never_tear_down_an_established_session(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options());
        await using EchoServer echo = EchoServer.Start(listener);
        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(listener, clientContext, ct);
        await EchoAsync(client.Session, [1, 2, 3], ct);

        // From the client's own address and port: a cookieless ClientHello, a forged cookie, and a
        // cookie issued to another port. Each gets a HelloVerifyRequest (which the established
        // client discards) and changes nothing.
        byte[] hello = await RawDtls.ClientHelloAsync();
        client.Socket.Send(hello);
        client.Socket.Send(RawDtls.WithCookie(hello, RandomNumberGenerator.GetBytes(32)));
        using (var other = RawSocket())
        {
            byte[] otherCookie = await RawDtls.GetCookieAsync(other, listener.LocalEndPoint, ct);
            client.Socket.Send(RawDtls.WithCookie(hello, otherCookie));
        }

        await EchoAsync(client.Session, [4, 5, 6], ct);
        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.SessionsReplaced, Is.Zero);
        Assert.That(stats.ActiveSessions, Is.EqualTo(1));
        Assert.That(stats.HandshakesStarted, Is.EqualTo(1));
        Assert.That(stats.CookiesRejected, Is.EqualTo(2));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Disposing_the_listener_sends_close_notify_to_every_peer_and_frees_everything(CancellationToken ct)
    {
        Collect();
        long nativeBefore = DtlsDiagnostics.LiveNativeHandles;
        long callbacksBefore = DtlsDiagnostics.LiveCallbackHandles;

        DtlsListener listener = DtlsListener.Listen(Options());
        using DtlsContext clientContext = ClientContext();
        var clients = new List<Client>();
        try
        {
            for (int i = 0; i < 5; i++)
            {
                clients.Add(await ConnectAsync(listener, clientContext, ct));
            }

            // Two accepted by the application, three still in the accept queue, one handshake pending.
            DtlsSession accepted1 = await listener.AcceptAsync(ct);
            DtlsSession accepted2 = await listener.AcceptAsync(ct);
            using var stalled = RawSocket();
            byte[] cookie = await RawDtls.GetCookieAsync(stalled, listener.LocalEndPoint, ct);
            await stalled.SendToAsync(RawDtls.WithCookie(await RawDtls.ClientHelloAsync(), cookie), listener.LocalEndPoint, ct);
            Assert.That(await WaitUntilAsync(() => listener.Statistics.PendingHandshakes == 1, TimeSpan.FromSeconds(5), ct), Is.True);
            ValueTask<DtlsSession> waitingAccept = listener.AcceptAsync(ct);
            while (waitingAccept.IsCompleted)
            {
                waitingAccept = listener.AcceptAsync(ct);
            }

            await listener.DisposeAsync();

            byte[] buffer = new byte[100];
            foreach (Client client in clients)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                Assert.That(await client.Session.ReceiveAsync(buffer, timeout.Token), Is.Zero, "close_notify reached the peer");
            }

            Assert.That(async () => await waitingAccept, Throws.InstanceOf<ObjectDisposedException>());
            Assert.That(async () => await listener.AcceptAsync(ct), Throws.InstanceOf<ObjectDisposedException>());
            Assert.That(async () => await accepted1.ReceiveAsync(buffer, ct), Throws.InstanceOf<ObjectDisposedException>());
            Assert.That(accepted2.IsAuthenticated, Is.True);
            Assert.That(listener.Statistics.ActiveSessions, Is.Zero);
            Assert.That(listener.Statistics.PendingHandshakes, Is.Zero);
        }
        finally
        {
            await listener.DisposeAsync();
            foreach (Client client in clients)
            {
                client.Dispose();
            }
        }

        clientContext.Dispose();
        Collect();
        Assert.That(DtlsDiagnostics.LiveNativeHandles, Is.EqualTo(nativeBefore), "native handles back to the baseline");
        Assert.That(DtlsDiagnostics.LiveCallbackHandles, Is.EqualTo(callbacksBefore), "callback GCHandles back to the baseline");
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static async Task ForEachAsync(int count, int concurrency, Func<int, Task> body, CancellationToken ct)
    {
        using var gate = new SemaphoreSlim(concurrency);
        var tasks = new Task[count];
        for (int i = 0; i < count; i++)
        {
            await gate.WaitAsync(ct);
            int index = i;
            tasks[i] = Task.Run(async () =>
            {
                try
                {
                    await body(index);
                }
                finally
                {
                    gate.Release();
                }
            }, ct);
        }

        await Task.WhenAll(tasks);
    }
}
