using System.Diagnostics;
using System.Net.Sockets;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>Timeouts, cancellation, close_notify and disposal, over real sockets.</summary>
public sealed class LifetimeTests : DtlsFixture
{
    private static DtlsContext TrustingClient(TimeSpan? handshakeTimeout = null) => new(new DtlsClientOptions
    {
        TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned],
        TargetHost = DtlsTestCertificates.Host,
        HandshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(30),
    });

    private static DtlsContext Server() => new(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(15_000)]
    public async Task Handshake_with_a_silent_peer_times_out_after_HandshakeTimeout(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        // The "server" is a bound socket that nobody reads: every ClientHello goes unanswered.
        (Socket silent, Socket clientSocket) = LoopbackPair.CreateConnectedSockets();
        using (silent)
        using (clientSocket)
        using (DtlsContext context = TrustingClient(TimeSpan.FromSeconds(2)))
        await using (var client = new DtlsSession(context, clientSocket, io))
        {
            var clock = Stopwatch.StartNew();
            Exception? failure = await LoopbackPair.CaptureAsync(() => client.ConnectAsync(cancellationToken));
            TimeSpan elapsed = clock.Elapsed;

            Assert.That(failure, Is.InstanceOf<TimeoutException>());
            Assert.Multiple(() =>
            {
                Assert.That(elapsed, Is.InRange(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(6)));
                Assert.That(failure!.Message, Does.Contain("HandshakeTimeout").And.Contain("2 s"));
                Assert.That(client.Retransmissions, Is.InRange(1, 2), "1 s initial timer: one retransmission before the 2 s deadline");
                Assert.That(client.IsAuthenticated, Is.False);
            });

            // The failure sticks: sending now reports the handshake's failure.
            Assert.That(async () => await client.SendAsync(new byte[1], cancellationToken), Throws.InstanceOf<TimeoutException>());
        }
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(15_000)]
    public async Task Cancelling_a_handshake_throws_OperationCanceled_and_frees_everything(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        long nativeBefore = DtlsDiagnostics.LiveNativeHandles;
        long callbacksBefore = DtlsDiagnostics.LiveCallbackHandles;
        (Socket silent, Socket clientSocket) = LoopbackPair.CreateConnectedSockets();
        using (silent)
        using (clientSocket)
        {
            using (DtlsContext context = TrustingClient())
            await using (var client = new DtlsSession(context, clientSocket, io))
            {
                Assert.That(DtlsDiagnostics.LiveCallbackHandles, Is.EqualTo(callbacksBefore + 1), "a live session holds one callback handle");
                using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                Task<Exception?> connect = LoopbackPair.CaptureAsync(() => client.ConnectAsync(cancel.Token));

                // Cancel once the ClientHello is on the wire, i.e. mid-handshake.
                byte[] hello = new byte[2048];
                int n = await silent.ReceiveAsync(hello, SocketFlags.None, cancellationToken);
                Assert.That(hello[0], Is.EqualTo(22), "a handshake record");
                cancel.Cancel();

                Exception? failure = await connect;
                Assert.That(failure, Is.InstanceOf<OperationCanceledException>());
                Assert.That(n, Is.GreaterThan(13));
            }

            Assert.Multiple(() =>
            {
                Assert.That(DtlsDiagnostics.LiveNativeHandles, Is.EqualTo(nativeBefore));
                Assert.That(DtlsDiagnostics.LiveCallbackHandles, Is.EqualTo(callbacksBefore));
            });
        }
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(15_000)]
    public async Task DtlsClient_cancelled_mid_handshake_frees_its_socket_and_session(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        long nativeBefore = DtlsDiagnostics.LiveNativeHandles;
        long callbacksBefore = DtlsDiagnostics.LiveCallbackHandles;
        using Socket silent = LoopbackPair.Bound();
        using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        using (DtlsContext context = TrustingClient())
        {
            Task<DtlsSession> connect = DtlsClient.ConnectAsync(silent.LocalEndPoint!, context, io, cancel.Token);
            await silent.ReceiveAsync(new byte[2048], SocketFlags.None, cancellationToken);
            cancel.Cancel();

            Assert.That(async () => await connect, Throws.InstanceOf<OperationCanceledException>());
            Assert.That(DtlsDiagnostics.LiveCallbackHandles, Is.EqualTo(callbacksBefore), "the session was freed before ConnectAsync returned");
        }

        Assert.Multiple(() =>
        {
            Assert.That(DtlsDiagnostics.LiveNativeHandles, Is.EqualTo(nativeBefore));
            Assert.That(DtlsDiagnostics.LiveCallbackHandles, Is.EqualTo(callbacksBefore));
        });
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task DtlsClient_with_options_times_out_and_frees_the_context_it_made(CancellationToken cancellationToken)
    {
        long nativeBefore = DtlsDiagnostics.LiveNativeHandles;
        long callbacksBefore = DtlsDiagnostics.LiveCallbackHandles;
        using Socket silent = LoopbackPair.Bound();
        var options = new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned],
            TargetHost = DtlsTestCertificates.Host,
            HandshakeTimeout = TimeSpan.FromMilliseconds(500),
            InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200),
        };

        var clock = Stopwatch.StartNew();
        Assert.That(async () => await DtlsClient.ConnectAsync(silent.LocalEndPoint!, options, cancellationToken), Throws.InstanceOf<TimeoutException>());
        Assert.Multiple(() =>
        {
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(4)));
            Assert.That(DtlsDiagnostics.LiveNativeHandles, Is.EqualTo(nativeBefore));
            Assert.That(DtlsDiagnostics.LiveCallbackHandles, Is.EqualTo(callbacksBefore));
        });
    }

    [TestCase(DtlsSocketIo.OpenSsl, true)]
    [TestCase(DtlsSocketIo.Managed, true)]
    [TestCase(DtlsSocketIo.OpenSsl, false)]
    [TestCase(DtlsSocketIo.Managed, false)]
    [CancelAfter(15_000)]
    public async Task Shutdown_makes_the_peer_receive_return_zero(DtlsSocketIo io, bool clientCloses, CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = TrustingClient();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, io, io);
        (DtlsSession closing, DtlsSession other) = clientCloses ? (pair.Client, pair.Server) : (pair.Server, pair.Client);

        byte[] buffer = new byte[2048];
        ValueTask<int> pending = other.ReceiveAsync(buffer, cancellationToken);
        await closing.SendAsync("last words"u8.ToArray(), cancellationToken);
        Assert.That(await pending, Is.EqualTo(10), "data sent before close_notify arrives first");

        await closing.ShutdownAsync(cancellationToken);
        Assert.Multiple(async () =>
        {
            Assert.That(await other.ReceiveAsync(buffer, cancellationToken), Is.Zero, "close_notify reads as end of stream");
            Assert.That(await other.ReceiveAsync(buffer, cancellationToken), Is.Zero, "and keeps doing so");
        });

        // After close_notify the closing side can still receive what the other side sends.
        await other.SendAsync("reply"u8.ToArray(), cancellationToken);
        Assert.That(await closing.ReceiveAsync(buffer, cancellationToken), Is.EqualTo(5));
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Disposing_the_socket_before_the_session_fails_the_next_call_instead_of_hanging(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = TrustingClient();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, DtlsSocketIo.OpenSsl, DtlsSocketIo.OpenSsl);

        // Socket.Dispose would wait forever if the session held the descriptor between calls.
        Task dispose = Task.Run(pair.ClientSocket.Dispose, cancellationToken);
        Assert.That(await Task.WhenAny(dispose, Task.Delay(TimeSpan.FromSeconds(10), cancellationToken)), Is.SameAs(dispose), "Socket.Dispose returned");
        Exception? failure = await LoopbackPair.CaptureAsync(() => pair.Client.SendAsync("late"u8.ToArray(), cancellationToken));
        Assert.That(failure, Is.InstanceOf<ObjectDisposedException>().With.Message.Contains("dispose the session first"));
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(15_000)]
    public async Task Close_notify_completes_every_pending_receive_with_zero(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = TrustingClient();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, io, io);

        // Three receives wait at once, with and without a cancellable token; one close_notify must end them all.
        Task<int>[] pending =
        [
            pair.Server.ReceiveAsync(new byte[2048], cancellationToken).AsTask(),
            pair.Server.ReceiveAsync(new byte[2048], CancellationToken.None).AsTask(),
            pair.Server.ReceiveAsync(new byte[2048], CancellationToken.None).AsTask(),
        ];
        await pair.Client.ShutdownAsync(cancellationToken);

        int[] results = await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        Assert.That(results, Is.All.Zero);
    }

    [TestCase(DtlsSocketIo.OpenSsl, false)]
    [TestCase(DtlsSocketIo.Managed, false)]
    [TestCase(DtlsSocketIo.OpenSsl, true)]
    [TestCase(DtlsSocketIo.Managed, true)]
    [CancelAfter(15_000)]
    public async Task Disposing_while_a_receive_is_pending_completes_it_with_ObjectDisposed(DtlsSocketIo io, bool cancellableReceive, CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = TrustingClient();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, io, io);

        byte[] buffer = new byte[2048];
        Task<Exception?> pending = LoopbackPair.CaptureAsync(async () => await pair.Client.ReceiveAsync(buffer, cancellableReceive ? cancellationToken : CancellationToken.None));
        Assert.That(pending.IsCompleted, Is.False, "nothing was sent, so the receive waits");
        await pair.Client.DisposeAsync();

        Exception? failure = await pending.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        Assert.That(failure, Is.InstanceOf<ObjectDisposedException>().Or.InstanceOf<OperationCanceledException>());
        Assert.That(failure, Is.InstanceOf<ObjectDisposedException>(), "the library reports disposal as ObjectDisposedException");

        // The peer learns of the end through the close_notify that Dispose sent.
        Assert.That(await pair.Server.ReceiveAsync(buffer, cancellationToken), Is.Zero);
        Assert.That(async () => await pair.Client.SendAsync(new byte[1], cancellationToken), Throws.InstanceOf<ObjectDisposedException>());
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(15_000)]
    public async Task Cancelling_a_pending_receive_leaves_the_session_usable(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = TrustingClient();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, io, io);

        byte[] buffer = new byte[2048];
        using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            Task<Exception?> pending = LoopbackPair.CaptureAsync(async () => await pair.Client.ReceiveAsync(buffer, cancel.Token));
            cancel.Cancel();
            Assert.That(await pending, Is.InstanceOf<OperationCanceledException>());
        }

        byte[] payload = [1, 2, 3];
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(15_000)]
    public async Task Disposing_during_a_handshake_fails_it_with_ObjectDisposed(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        (Socket silent, Socket clientSocket) = LoopbackPair.CreateConnectedSockets();
        using (silent)
        using (clientSocket)
        using (DtlsContext context = TrustingClient())
        {
            await using var client = new DtlsSession(context, clientSocket, io);
            Task<Exception?> connect = LoopbackPair.CaptureAsync(() => client.ConnectAsync(cancellationToken));
            await silent.ReceiveAsync(new byte[2048], SocketFlags.None, cancellationToken);
            client.Dispose();
            Assert.That(await connect.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken), Is.InstanceOf<ObjectDisposedException>());
        }
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(15_000)]
    public async Task Context_disposed_while_sessions_live_does_not_disturb_them_but_refuses_new_ones(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        DtlsContext serverContext = Server();
        DtlsContext clientContext = TrustingClient();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, io, io);
        serverContext.Dispose();
        clientContext.Dispose();
        clientContext.Dispose();

        byte[] payload = [9, 8, 7];
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));

        // If a session were (wrongly) created here it would hold the socket, whose Dispose would then
        // wait for it forever: dispose it before asserting.
        (Socket a, Socket b) = LoopbackPair.CreateConnectedSockets();
        using (a)
        using (b)
        {
            DtlsSession? late = null;
            Exception? failure = null;
            try
            {
                late = new DtlsSession(clientContext, a, io);
            }
            catch (Exception e)
            {
                failure = e;
            }

            late?.Dispose();
            Assert.That(failure, Is.InstanceOf<ObjectDisposedException>());
        }
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Misuse_is_reported_as_InvalidOperation(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = TrustingClient();
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext);
        Assert.Multiple(() =>
        {
            Assert.That(async () => await pair.Client.AcceptAsync(cancellationToken), Throws.InvalidOperationException);
            Assert.That(async () => await pair.Server.ConnectAsync(cancellationToken), Throws.InvalidOperationException);
            Assert.That(async () => await pair.Client.SendAsync(new byte[1], cancellationToken), Throws.InvalidOperationException);
            Assert.That(() => pair.Client.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", 60), Throws.InvalidOperationException);
        });

        await pair.HandshakeAsync(cancellationToken);
        Assert.That(async () => await pair.Client.ConnectAsync(cancellationToken), Throws.InvalidOperationException, "a second handshake");
    }
}
