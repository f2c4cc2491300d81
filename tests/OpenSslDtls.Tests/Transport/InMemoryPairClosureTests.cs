using System.Diagnostics;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Transport;

/// <summary>
/// The two ends of an <see cref="InMemoryDtlsTransport"/> pair close together, like a socket pair:
/// disposing one end, reporting it closed, or disposing its session makes a handshake waiting on the
/// other end fail at once (not at its 30 s HandshakeTimeout), while a close_notify already sent is
/// still delivered first.
/// </summary>
[TestFixture]
public sealed class InMemoryPairClosureTests : DtlsFixture
{
    public enum Closure
    {
        TransportDisposed,
        ReportedClosed,
        ReportedFailed,
        SessionDisposed,
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Closing_one_end_fails_the_handshake_waiting_on_the_other_at_once(
        [Values] Closure closure,
        [Values] bool serverWaits,
        CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.Server, HandshakeTimeout = TimeSpan.FromSeconds(30) });
        using var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, HandshakeTimeout = TimeSpan.FromSeconds(30) });
        (InMemoryDtlsTransport clientSide, InMemoryDtlsTransport serverSide) = InMemoryDtlsTransport.CreatePair();
        (InMemoryDtlsTransport waitingSide, InMemoryDtlsTransport closingSide) = serverWaits ? (serverSide, clientSide) : (clientSide, serverSide);

        // The waiting end's handshake runs; the closing end carries a session that never answers
        // (nothing it sends arrives), or none at all when its transport alone is closed.
        await using DtlsSession waiting = serverWaits ? new DtlsSession(serverContext, waitingSide) : new DtlsSession(clientContext, waitingSide);
        DtlsSession? other = closure == Closure.SessionDisposed ? (serverWaits ? new DtlsSession(clientContext, closingSide) : new DtlsSession(serverContext, closingSide)) : null;
        closingSide.SendFilter = _ => false;
        Task handshake = serverWaits ? waiting.AcceptAsync(cancellationToken).AsTask() : waiting.ConnectAsync(cancellationToken).AsTask();
        var clock = Stopwatch.StartNew();
        Assert.That(handshake.IsCompleted, Is.False);

        switch (closure)
        {
            case Closure.TransportDisposed:
                closingSide.Dispose();
                break;
            case Closure.ReportedClosed:
                closingSide.ReportClosed();
                break;
            case Closure.ReportedFailed:
                closingSide.ReportClosed(new IOException("tunnel down"));
                break;
            case Closure.SessionDisposed:
                await other!.DisposeAsync();
                break;
        }

        DtlsException? e = Assert.ThrowsAsync<DtlsException>(async () => await handshake);
        Assert.Multiple(() =>
        {
            Assert.That(e?.Message, Does.Contain("closed"));
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "not the 30 s HandshakeTimeout");
            Assert.That(waitingSide.IsClosed, Is.True);
        });
        closingSide.Dispose();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_disposed_session_s_close_notify_still_ends_the_peers_receive_with_zero(CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.Server });
        using var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true });
        (InMemoryDtlsTransport clientSide, InMemoryDtlsTransport serverSide) = InMemoryDtlsTransport.CreatePair();
        await using var server = new DtlsSession(serverContext, serverSide);
        Task accept = server.AcceptAsync(cancellationToken).AsTask();
        DtlsSession client = await DtlsClient.ConnectAsync(clientSide, clientContext, cancellationToken);
        await accept;
        byte[] payload = RandomNumberGenerator.GetBytes(100);
        await client.SendAsync(payload, cancellationToken);
        await client.DisposeAsync(); // close_notify, then the transport: the server end closes behind them

        byte[] buffer = new byte[2048];
        int first = await server.ReceiveAsync(buffer, cancellationToken);
        int end = await server.ReceiveAsync(buffer, cancellationToken);
        // The receive returns 0 while the close_notify is handled; the end reports itself closed just
        // after, on its delivery loop: wait for that (bounded), then assert it.
        for (var waited = System.Diagnostics.Stopwatch.StartNew(); !serverSide.IsClosed && waited.Elapsed < TimeSpan.FromSeconds(5);)
        {
            await Task.Delay(10, cancellationToken);
        }

        Assert.Multiple(() =>
        {
            Assert.That(buffer.AsSpan(0, first).ToArray(), Is.EqualTo(payload), "what was sent before arrives first");
            Assert.That(end, Is.Zero, "then the close_notify, not the transport's closure");
            Assert.That(serverSide.IsClosed, Is.True, "and the end closed behind it");
        });
    }
}
