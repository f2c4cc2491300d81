using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Transport;

/// <summary>
/// A transport whose Send delivers synchronously (to itself, or to a peer session whose reply comes
/// straight back) would re-enter OpenSSL until the stack overflows. The guard in
/// <see cref="DtlsDatagramTransport.Deliver"/> refuses it: the sending call fails with a
/// <see cref="DtlsException"/> and the process lives on. Without the guard the pipe case ends the
/// test host with a stack overflow, which is this fixture's "fails without the fix".
/// </summary>
[TestFixture]
public sealed class ReentrantDeliveryTests : DtlsFixture
{
    public enum Shape
    {
        /// <summary>Send delivers the datagram to its own transport.</summary>
        SelfDeliver,

        /// <summary>Client and server joined by a synchronous pipe: A.Send => B.Deliver => B sends => A.Deliver ...</summary>
        SynchronousPipe,
    }

    [TestCase(Shape.SelfDeliver)]
    [TestCase(Shape.SynchronousPipe)]
    [CancelAfter(30_000)]
    public async Task Deliver_from_inside_Send_fails_the_sending_call_and_the_process_survives(Shape shape, CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.Server });
        using var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true });
        var clientSide = new SynchronousTransport();
        var serverSide = new SynchronousTransport();
        clientSide.Peer = shape == Shape.SelfDeliver ? clientSide : serverSide;
        serverSide.Peer = clientSide;

        await using var server = new DtlsSession(serverContext, serverSide);
        Task accept = server.AcceptAsync(cancellationToken).AsTask();
        await using var client = new DtlsSession(clientContext, clientSide);

        DtlsException? e = Assert.ThrowsAsync<DtlsException>(async () => await client.ConnectAsync(cancellationToken));
        Assert.Multiple(() =>
        {
            Assert.That(e?.InnerException, Is.InstanceOf<InvalidOperationException>());
            Assert.That(e?.InnerException?.Message, Does.Contain("Queue the datagram").And.Contain("InMemoryDtlsTransport"));
            Assert.That(clientSide.Sends, Is.EqualTo(1), "the first Send was refused: nothing looped");
            Assert.That(accept.IsCompleted, Is.False, "the server never took the ClientHello");
        });

        // The guard is per call: outside Send this thread delivers again (false: no handshake started there).
        Assert.That(new SynchronousTransport().Deliver(new byte[13]), Is.False);
        await server.DisposeAsync();
        Assert.CatchAsync(async () => await accept);
    }

    /// <summary>A transport written by an application that delivers synchronously to <see cref="Peer"/>, which the contract forbids.</summary>
    private sealed class SynchronousTransport : DtlsDatagramTransport
    {
        private int _sends;

        public SynchronousTransport? Peer { get; set; }

        public int Sends => Volatile.Read(ref _sends);

        public override void Send(ReadOnlySpan<byte> datagram)
        {
            Interlocked.Increment(ref _sends);
            Peer?.Deliver(datagram);
        }
    }
}
