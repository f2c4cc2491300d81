using System.Net;

namespace OpenSsl.Dtls;

/// <summary>
/// The datagram transport under one <see cref="DtlsSession"/>: it sends each datagram the session
/// writes, and its owner pushes in each datagram received from the peer with <see cref="Deliver"/>.
/// Every session runs over one (docs/architecture.md, "the one I/O path"): a connected UDP socket
/// (<c>new DtlsSession(context, socket)</c>, <see cref="DtlsClient"/>), a peer of a
/// <see cref="DtlsListener"/>, an <see cref="InMemoryDtlsTransport"/>, or a caller's own socket, for
/// example WebRTC's ICE socket, where STUN, DTLS and SRTP share one UDP port and the application
/// demultiplexes by the first byte (RFC 7983 §7: 20 to 63 is DTLS) and delivers only the DTLS
/// datagrams here. It plays the part of BouncyCastle's <c>DatagramTransport</c> and pion's
/// <c>net.PacketConn</c>, but received datagrams are pushed in rather than pulled.
/// </summary>
/// <remarks>
/// <para>
/// Datagrams, not streams (RFC 6347 §4.1.1): each <see cref="Send"/> is one datagram of whole DTLS
/// records, and each <see cref="Deliver"/> must be exactly one datagram as received. The session
/// keeps every datagram it sends within <see cref="DtlsOptions.Mtu"/> minus
/// <see cref="HeaderOverhead"/> bytes.
/// </para>
/// <para>
/// One transport carries one session, for the session's whole life: the session attaches itself
/// when it is constructed, and disposes the transport when it is disposed (after its close_notify
/// went out through <see cref="Send"/>). Datagrams delivered before the session's handshake starts
/// (<see cref="DtlsSession.ConnectAsync"/> or <see cref="DtlsSession.AcceptAsync"/>) are dropped, as
/// the network may drop any datagram: start the handshake, then deliver.
/// </para>
/// <para>
/// Threads: <see cref="Send"/> is called on whatever thread drives the session (the application's
/// send, the thread delivering a datagram, the retransmission timer), one call at a time, while the
/// session holds its lock; it must not block for long and must never call <see cref="Deliver"/> of
/// the same transport (or of a transport whose session may be sending to this one) on the same
/// stack, since that would re-enter OpenSSL: such a <see cref="Deliver"/> throws
/// <see cref="InvalidOperationException"/>, which fails the sending call. Queue the datagram instead, as
/// <see cref="InMemoryDtlsTransport"/> does. <see cref="Deliver"/> and <see cref="ReportClosed"/> may
/// be called from any thread, one call at a time per transport (a receive loop).
/// </para>
/// </remarks>
public abstract class DtlsDatagramTransport : IDisposable
{
    /// <summary>IP and UDP header bytes of one IPv4 datagram (20 + 8): the default <see cref="HeaderOverhead"/>.</summary>
    public const int Ipv4UdpHeaderOverhead = 28;

    /// <summary>
    /// The smallest datagram payload a session accepts, in bytes (208): OpenSSL's minimum link MTU (256,
    /// <c>DTLS_set_link_mtu(3)</c>) less IPv6 and UDP headers (48). <see cref="HeaderOverhead"/> must
    /// be between 0 and <see cref="DtlsOptions.Mtu"/> minus this.
    /// </summary>
    public const int MinimumDatagramPayload = 208;

    /// <summary>
    /// The largest <see cref="HeaderOverhead"/> a session accepts, in bytes (255): OpenSSL computes its
    /// smallest usable MTU as 256 minus the BIO's overhead in unsigned arithmetic (<c>dtls1_min_mtu</c>,
    /// ssl/d1_lib.c), so a larger overhead makes every handshake fail without an error.
    /// </summary>
    public const int MaximumHeaderOverhead = 255;

    // How many transports' Send calls are on this thread's stack: Deliver from inside one would re-enter
    // OpenSSL (this session's, or a peer session's that then sends back) until the stack overflows.
    [ThreadStatic]
    private static int t_sendDepth;

    private DtlsSession? _session;
    private DtlsException? _closed;
    private int _disposed;

    /// <summary>
    /// The peer's address, or null where the transport has none (an in-memory pair, a tunnel). A client
    /// session checks the server's certificate against <see cref="DtlsClientOptions.TargetHost"/>, or
    /// against this address when that is null; over a transport without one, a client that validates
    /// certificates must set <see cref="DtlsClientOptions.TargetHost"/>. Default: null.
    /// </summary>
    public virtual EndPoint? RemoteEndPoint => null;

    /// <summary>The local address datagrams are sent from, or null where there is none. Default: null.</summary>
    public virtual EndPoint? LocalEndPoint => null;

    /// <summary>
    /// Bytes the layers below DTLS add to each datagram on the path (IP and UDP headers: 28 for IPv4,
    /// 48 for IPv6; add a tunnel's or TURN's own framing). The session sends datagrams of at most
    /// <see cref="DtlsOptions.Mtu"/> minus this many bytes, and tells OpenSSL the same
    /// (<c>BIO_CTRL_DGRAM_GET_MTU_OVERHEAD</c>). Default: <see cref="Ipv4UdpHeaderOverhead"/> (28).
    /// Read when the session is created and on every send; it must stay the same for the session's life.
    /// From 0 to <see cref="DtlsOptions.Mtu"/> minus <see cref="MinimumDatagramPayload"/>, and at most
    /// <see cref="MaximumHeaderOverhead"/>: the session's
    /// constructor throws <see cref="ArgumentOutOfRangeException"/> (ParamName "HeaderOverhead") otherwise.
    /// </summary>
    public virtual int HeaderOverhead => Ipv4UdpHeaderOverhead;

    /// <summary>True once <see cref="ReportClosed"/> was called or the transport was disposed.</summary>
    public bool IsClosed => Volatile.Read(ref _closed) is not null || Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// The peer as every exception and log message names it: <see cref="RemoteEndPoint"/>, or where
    /// the transport has none, "the peer over" and the transport's type name (never an empty name).
    /// </summary>
    internal string PeerName => RemoteEndPoint?.ToString() ?? $"the peer over {GetType().Name}";

    /// <summary>The session this transport carries, or null before one is created on it and after it was disposed.</summary>
    internal DtlsSession? Session => Volatile.Read(ref _session);

    /// <summary>
    /// What transient errors (ICMP unreachable) this transport has absorbed, for a handshake timeout's
    /// message; null if none. Only the connected-socket driver counts them.
    /// </summary>
    internal virtual string? TransientErrorSummary => null;

    /// <summary>
    /// Sends one datagram to the peer: whole DTLS records, at most <see cref="DtlsOptions.Mtu"/> minus
    /// <see cref="HeaderOverhead"/> bytes. Called by the session with its lock held (see the remarks on
    /// threads); <paramref name="datagram"/> is valid only during the call, so copy it to keep it.
    /// A datagram that cannot be sent now (a full buffer, an ICMP error) may be dropped silently: DTLS
    /// retransmits handshake flights, and application data over UDP is lossy anyway.
    /// </summary>
    /// <param name="datagram">One datagram, 13 bytes (one record header) or more.</param>
    /// <exception cref="System.Net.Sockets.SocketException">The transport failed for good; the session's call that sent fails with a <see cref="DtlsException"/> holding it.</exception>
    /// <remarks>Any other exception also fails that call: it reaches the caller as a <see cref="DtlsException"/> whose inner exception it is.</remarks>
    public abstract void Send(ReadOnlySpan<byte> datagram);

    /// <summary>
    /// Pushes one datagram received from the peer into the session, and processes it on the calling
    /// thread before returning: its records are checked (forged or malformed ones are dropped and
    /// counted in <see cref="DtlsSession.RejectedDatagrams"/>), then the handshake advances or the
    /// plaintext is queued for <see cref="DtlsSession.ReceiveAsync"/>. The bytes are not kept after the
    /// call, so the caller may reuse its buffer. Call from one thread at a time (a receive loop); never
    /// from inside <see cref="Send"/>.
    /// </summary>
    /// <param name="datagram">Exactly one datagram as received (for WebRTC: one whose first byte is 20 to 63, RFC 7983 §7).</param>
    /// <returns>True while the session takes datagrams; false once it has failed or was disposed, or if no session was created on this transport: stop delivering then.</returns>
    /// <exception cref="InvalidOperationException">
    /// Called on a thread that is inside a transport's <see cref="Send"/> (this one's, or any other's:
    /// two sessions joined by a synchronous pipe), which would re-enter OpenSSL without end. Thrown
    /// inside <see cref="Send"/>, it fails the sending session's call with a <see cref="DtlsException"/>
    /// holding it. Queue the datagram and deliver it from another thread, as <see cref="InMemoryDtlsTransport"/> does.
    /// </exception>
    public bool Deliver(ReadOnlySpan<byte> datagram)
    {
        if (t_sendDepth != 0)
        {
            throw new InvalidOperationException(
                $"{GetType().Name}.Deliver was called from inside a DtlsDatagramTransport.Send on the same thread, which would re-enter the "
                + "DTLS session (and overflow the stack through a synchronous pipe between two sessions). Queue the datagram in Send and "
                + "deliver it from another thread (a receive loop), as InMemoryDtlsTransport does.");
        }

        DtlsSession? session = Session;
        return session is not null && Volatile.Read(ref _closed) is null && session.ProcessDatagram(datagram);
    }

    /// <summary>
    /// Reports that this transport will deliver nothing more: its socket closed or failed, the ICE
    /// agent gave up, the tunnel went down. A handshake in progress (or started later) fails, and
    /// <see cref="DtlsSession.ReceiveAsync"/> calls waiting or to come fail, with a
    /// <see cref="DtlsException"/> holding <paramref name="error"/>; the datagrams already received
    /// are still returned first. Only the first call counts; later ones do nothing. Any thread.
    /// </summary>
    /// <param name="error">Why, or null for an orderly close. A <see cref="DtlsException"/> is used as it is.</param>
    public void ReportClosed(Exception? error = null)
    {
        var closed = error as DtlsException ?? new DtlsException(
            error is null
                ? $"The transport under the DTLS session with {PeerName} was closed: no more datagrams can arrive."
                : $"The transport under the DTLS session with {PeerName} failed: {error.Message}",
            error);
        if (Interlocked.CompareExchange(ref _closed, closed, null) is null)
        {
            Session?.OnTransportClosed(closed);
            OnReportedClosed();
        }
    }

    /// <summary>
    /// Detaches the session and releases what the transport holds (<see cref="Dispose(bool)"/>). The
    /// session calls this when it is disposed; calling it earlier drops the datagrams delivered after it.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Detach();
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what a derived transport holds (its socket, its delivery loop); called once, by <see cref="Dispose()"/>.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Checked first by the session's constructor, so that a transport it may not use is left alone (not disposed).</summary>
    /// <exception cref="InvalidOperationException">Another session is on this transport.</exception>
    /// <exception cref="ObjectDisposedException">The transport was disposed.</exception>
    internal void ThrowIfUnavailable()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Session is not null)
        {
            throw new InvalidOperationException("This transport already carries a DtlsSession: a transport carries exactly one session.");
        }
    }

    /// <summary>Called once by the session's constructor: this transport now carries <paramref name="session"/>.</summary>
    /// <exception cref="InvalidOperationException">Another session is (or was) on this transport.</exception>
    /// <exception cref="ObjectDisposedException">The transport was disposed.</exception>
    internal void Attach(DtlsSession session)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        DtlsSession? current = Interlocked.CompareExchange(ref _session, session, null);
        if (current is not null && current != session)
        {
            throw new InvalidOperationException("This transport already carries a DtlsSession: a transport carries exactly one session.");
        }

        if (Volatile.Read(ref _closed) is { } closed)
        {
            session.OnTransportClosed(closed);
        }
    }

    /// <summary>Called once the session is fully constructed: a derived transport may start delivering (the socket driver's receive loop).</summary>
    internal virtual void OnAttached(DtlsSession session)
    {
    }

    /// <summary>Called once, by the first <see cref="ReportClosed"/>: a derived transport that joins two ends tells the other (<see cref="InMemoryDtlsTransport"/>).</summary>
    internal virtual void OnReportedClosed()
    {
    }

    /// <summary>Called under the session's lock when its handshake starts: from now on, delivered datagrams are processed.</summary>
    internal virtual void OnHandshakeStarted()
    {
    }

    /// <summary>The session's one way to send: <see cref="Send"/>, marked on this thread so that <see cref="Deliver"/> from inside it is refused.</summary>
    internal void SendFromSession(ReadOnlySpan<byte> datagram)
    {
        t_sendDepth++;
        try
        {
            Send(datagram);
        }
        finally
        {
            t_sendDepth--;
        }
    }

    /// <summary>Forgets the session (it was released): later deliveries return false.</summary>
    internal void Detach() => Volatile.Write(ref _session, null);

}
