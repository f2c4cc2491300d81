using System.Buffers;
using System.Threading.Channels;

namespace OpenSsl.Dtls;

/// <summary>
/// One end of a pair of datagram transports joined in memory, without sockets: what one side's
/// session sends is delivered to the other side's session. For tests and benchmarks that want DTLS
/// without the kernel's UDP path, and as a small example of a <see cref="DtlsDatagramTransport"/>.
/// </summary>
/// <remarks>
/// <para>
/// Each side has a bounded inbox of datagrams sent to it. <see cref="Send"/> copies the datagram
/// into the peer's inbox and returns at once; it never calls into the peer's session, whose lock
/// may be held by a thread that is sending to this side at the same moment. Each side delivers its
/// inbox to its own session from one loop on the thread pool, started when its handshake starts
/// (so that a ClientHello sent before the server called <see cref="DtlsSession.AcceptAsync"/> waits
/// for it instead of being lost). Datagrams keep their order and boundaries.
/// </para>
/// <para>
/// Like UDP, a full inbox drops the datagram (counted in <see cref="DroppedDatagrams"/>), and so
/// does a disposed peer; DTLS retransmits lost handshake flights. Like a socket pair, disposing one
/// side (or calling <see cref="DtlsDatagramTransport.ReportClosed"/> on it) closes the other: once the
/// other side has delivered the datagrams already sent to it (a close_notify among them), it reports
/// itself closed, so that a handshake waiting there fails at once with a <see cref="DtlsException"/>
/// instead of at its HandshakeTimeout. <see cref="DtlsDatagramTransport.RemoteEndPoint"/> is null, so a client that validates
/// certificates must set <see cref="DtlsClientOptions.TargetHost"/>.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var (clientSide, serverSide) = InMemoryDtlsTransport.CreatePair();
/// await using var server = new DtlsSession(serverContext, serverSide);
/// Task accept = server.AcceptAsync(cancellationToken).AsTask();
/// await using DtlsSession client = await DtlsClient.ConnectAsync(clientSide, clientContext, cancellationToken);
/// await accept;
/// </code>
/// </example>
public sealed class InMemoryDtlsTransport : DtlsDatagramTransport
{
    /// <summary>The default bound of each side's inbox, in datagrams.</summary>
    public const int DefaultCapacity = 256;

    private readonly Channel<Datagram> _inbox;
    private InMemoryDtlsTransport _peer = null!;
    private int _deliveryStarted;
    private long _sent;
    private long _dropped;

    private InMemoryDtlsTransport(int capacity)
    {
        // AllowSynchronousContinuations stays false: a write never runs the reader's loop inline,
        // so the sender's stack (inside its session's OpenSSL call) never enters the peer's session.
        _inbox = Channel.CreateBounded<Datagram>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        }, Dropped);
    }

    /// <summary>
    /// An optional hook on this side's sends, for tests: called on the sending thread, while the
    /// sending session holds its lock, with each datagram this side sends (a copy, valid during the
    /// call); return false to drop it (simulated loss), true to pass it on. It must not call into
    /// either session. Null (the default) passes every datagram.
    /// </summary>
    public Func<ReadOnlyMemory<byte>, bool>? SendFilter { get; set; }

    /// <summary>Datagrams this side's session has sent, including those then dropped.</summary>
    public long DatagramsSent => Interlocked.Read(ref _sent);

    /// <summary>Datagrams this side sent that were dropped: the peer's inbox was full or disposed, or <see cref="SendFilter"/> refused them.</summary>
    public long DroppedDatagrams => Interlocked.Read(ref _dropped);

    /// <summary>Creates two joined transports: what a session on one sends, the session on the other receives.</summary>
    /// <param name="capacity">Each side's inbox bound, in datagrams (at least 1): the in-memory equivalent of a socket's receive buffer. Default <see cref="DefaultCapacity"/>.</param>
    /// <returns>The two ends; put a client session on one and a server session on the other.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is below 1.</exception>
    public static (InMemoryDtlsTransport First, InMemoryDtlsTransport Second) CreatePair(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var first = new InMemoryDtlsTransport(capacity);
        var second = new InMemoryDtlsTransport(capacity);
        first._peer = second;
        second._peer = first;
        return (first, second);
    }

    /// <summary>Copies <paramref name="datagram"/> into the peer's inbox and returns; see the remarks on loss.</summary>
    /// <param name="datagram">One datagram.</param>
    public override void Send(ReadOnlySpan<byte> datagram)
    {
        Interlocked.Increment(ref _sent);
        byte[] copy = ArrayPool<byte>.Shared.Rent(datagram.Length);
        datagram.CopyTo(copy);
        if (SendFilter is { } filter && !filter(copy.AsMemory(0, datagram.Length)))
        {
            ArrayPool<byte>.Shared.Return(copy);
            Interlocked.Increment(ref _dropped);
            return;
        }

        if (!_peer._inbox.Writer.TryWrite(new Datagram(copy, datagram.Length)))
        {
            // Completed (the peer was disposed); a full inbox drops through the channel's callback instead.
            ArrayPool<byte>.Shared.Return(copy);
            Interlocked.Increment(ref _dropped);
        }
    }

    internal override void OnHandshakeStarted()
    {
        if (Interlocked.Exchange(ref _deliveryStarted, 1) == 0)
        {
            _ = Task.Run(DeliverInboxAsync);
        }
    }

    /// <summary>Nothing more will come from this side: the peer's inbox is completed, so the peer reports itself closed once it has delivered what is queued.</summary>
    internal override void OnReportedClosed() => _peer._inbox.Writer.TryComplete();

    /// <summary>Stops accepting datagrams, returns those still queued to the pool, and closes the peer (see the remarks).</summary>
    /// <param name="disposing">True when called from <see cref="DtlsDatagramTransport.Dispose()"/>.</param>
    protected override void Dispose(bool disposing)
    {
        _inbox.Writer.TryComplete();
        _peer._inbox.Writer.TryComplete();
        Drain();
        base.Dispose(disposing);
    }

    private async Task DeliverInboxAsync()
    {
        ChannelReader<Datagram> reader = _inbox.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out Datagram datagram))
            {
                bool alive;
                try
                {
                    alive = Deliver(datagram.Buffer.AsSpan(0, datagram.Length));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(datagram.Buffer);
                }

                if (!alive && (Session is null || IsClosed))
                {
                    // Released or closed: nothing will take datagrams any more.
                    _inbox.Writer.TryComplete();
                    Drain();
                    return;
                }
            }
        }

        // The inbox was completed: the peer was disposed or reported closed (or this side was
        // disposed). As with a socket whose other end closed, nothing more can arrive.
        ReportClosed();
    }

    private void Drain()
    {
        while (_inbox.Reader.TryRead(out Datagram datagram))
        {
            ArrayPool<byte>.Shared.Return(datagram.Buffer);
        }
    }

    private void Dropped(Datagram datagram)
    {
        ArrayPool<byte>.Shared.Return(datagram.Buffer);
        // The sender is the peer: it counts what it sent that was lost.
        Interlocked.Increment(ref _peer._dropped);
    }

    private readonly record struct Datagram(byte[] Buffer, int Length);
}
