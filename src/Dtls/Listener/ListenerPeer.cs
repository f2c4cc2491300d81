using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace OpenSsl.Dtls;

/// <summary>
/// One remote address and port behind a <see cref="DtlsListener"/>: the transport of its session
/// (the datagram BIO's writes become <c>SendTo</c> on the shared socket), its cookie issuer for
/// OpenSSL's callbacks, and its idle timer in the shared <see cref="DtlsTimerQueue"/>. It exists only
/// once the peer has proven its address with a valid cookie.
/// </summary>
internal sealed class ListenerPeer : DtlsDatagramTransport, IDtlsTimerTarget, IDtlsCookieIssuer
{
    public const int StatePending = 0;
    public const int StateEstablished = 1;
    public const int StateClosed = 2;

    private readonly DtlsListener _listener;
    private readonly Socket _socket;
    private readonly byte[] _clientRandom;
    private readonly byte[] _cookie;
    private ListenerPeer? _successor;
    private HandshakeReassemblyGuard? _reassembly;
    private int _state = StatePending;
    private long _lastActivity;
    private long _timerDue;

    public ListenerPeer(DtlsListener listener, Socket socket, SocketAddress address, in ClientHello hello, ListenerPeer? predecessor, HandshakeReassemblyGuard reassembly)
    {
        _listener = listener;
        _socket = socket;
        // The receive loop reuses its SocketAddress for every datagram: the table key must be a copy.
        Address = new SocketAddress(address.Family, address.Size);
        address.Buffer.Span.Slice(0, address.Size).CopyTo(Address.Buffer.Span);
        var endpoint = (IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(Address);
        RemoteEndPoint = endpoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endpoint.Address.MapToIPv4(), endpoint.Port) : endpoint;
        HeaderOverhead = SocketAddressing.HeaderOverhead(RemoteEndPoint.AddressFamily);
        _clientRandom = hello.Random.ToArray();
        _cookie = hello.Cookie.ToArray();
        Predecessor = predecessor;
        _reassembly = reassembly;
        (AddressKey, PrefixKey) = SourceKeys(RemoteEndPoint.Address);
        StartedAt = listener.Telemetry.Now;
        _lastActivity = StartedAt;
    }

    /// <summary>The peer's address as the socket reports it: the key of the listener's table, and where <c>SendTo</c> sends.</summary>
    public SocketAddress Address { get; }

    public override IPEndPoint RemoteEndPoint { get; }

    public override EndPoint? LocalEndPoint => _socket.LocalEndPoint;

    public override int HeaderOverhead { get; }

    /// <summary>The peer's IP address as 128 bits (IPv4 as IPv4-mapped IPv6): the key of the per-address limit.</summary>
    public UInt128 AddressKey { get; }

    /// <summary>The peer's network (IPv4 /24, IPv6 /56): the key of the per-prefix limit.</summary>
    public UInt128 PrefixKey { get; }

    /// <summary>For a restarted client's new handshake: the established association it replaces once it completes (RFC 6347 §4.2.8).</summary>
    public ListenerPeer? Predecessor { get; }

    /// <summary>An established peer's pending successor: a new handshake from the same address and port, not yet complete.</summary>
    public ListenerPeer? Successor => Volatile.Read(ref _successor);

    /// <summary>The reassembly bound of a pending handshake; null once established or closed.</summary>
    public HandshakeReassemblyGuard? Reassembly => Volatile.Read(ref _reassembly);

    /// <summary>The peer's place in the listener's <see cref="PendingHandshakeTable"/> while pending (guarded by the table's lock).</summary>
    public LinkedListNode<ListenerPeer>? PendingNode { get; set; }

    /// <summary>When the verified ClientHello arrived (a timestamp of the listener's <see cref="DtlsListenerOptions.TimeProvider"/>).</summary>
    public long StartedAt { get; }

    public long LastActivity => Volatile.Read(ref _lastActivity);

    public int State => Volatile.Read(ref _state);

    /// <summary>The shortest encrypted record <see cref="DtlsRecordFilter"/> lets through to this peer's session.</summary>
    public int MinimumEncryptedRecord => Session?.MinimumEncryptedRecord ?? DtlsRecordFilter.HandshakeMinimum;

    long IDtlsTimerTarget.TimerDue => Volatile.Read(ref _timerDue);

    /// <summary>Sets the pending successor if there is none or <paramref name="expected"/> is the current one.</summary>
    public bool TrySetSuccessor(ListenerPeer successor, ListenerPeer? expected) =>
        Interlocked.CompareExchange(ref _successor, successor, expected) == expected;

    /// <summary>Forgets <paramref name="successor"/> (it completed or failed).</summary>
    public void ClearSuccessor(ListenerPeer successor) => Interlocked.CompareExchange(ref _successor, null, successor);

    /// <summary>Drops the reassembly bound (established or closed) and returns the bytes it had counted.</summary>
    public int ReleaseReassembly() => Interlocked.Exchange(ref _reassembly, null)?.Bytes ?? 0;

    /// <summary>True for a ClientHello with the random of the one that created this association: a retransmission, not a restart.</summary>
    public bool StartedWith(ReadOnlySpan<byte> clientRandom) => clientRandom.SequenceEqual(_clientRandom);

    /// <summary>Pending to established; false if the peer was closed meanwhile.</summary>
    public bool TryEstablish() => Interlocked.CompareExchange(ref _state, StateEstablished, StatePending) == StatePending;

    /// <summary>Moves to closed; returns the state it left, or -1 if it was already closed. Exactly one caller wins.</summary>
    public int TryClose()
    {
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if (state == StateClosed)
            {
                return -1;
            }

            if (Interlocked.CompareExchange(ref _state, StateClosed, state) == state)
            {
                Volatile.Write(ref _timerDue, 0);
                return state;
            }
        }
    }

    /// <summary>
    /// Feeds one received datagram to the session; returns how many plaintext datagrams it dropped, of
    /// which <paramref name="overBudget"/> for the listener's memory budget (the rest: its full queue).
    /// </summary>
    public long Deliver(ReadOnlySpan<byte> datagram, out long overBudget, out bool alive)
    {
        Volatile.Write(ref _lastActivity, _listener.Telemetry.Now);
        DtlsSession? session = Session;
        overBudget = 0;
        if (session is null)
        {
            alive = false;
            return 0;
        }

        long droppedBefore = session.DroppedDatagrams;
        long overBudgetBefore = session.DroppedOverBudget;
        alive = Deliver(datagram);
        overBudget = session.DroppedOverBudget - overBudgetBefore;
        return session.DroppedDatagrams - droppedBefore;
    }

    /// <summary>The datagram BIO's write: one record, one datagram, to this peer. A closed (replaced) peer sends nothing.</summary>
    public override void Send(ReadOnlySpan<byte> datagram)
    {
        if (State == StateClosed)
        {
            return;
        }

        try
        {
            _socket.SendTo(datagram, SocketFlags.None, Address);
            _listener.CountSent();
        }
        catch (SocketException e)
        {
            // UDP is lossy anyway: a failed send (a full buffer, an ICMP error) must not fail the
            // session; DTLS retransmits handshake flights and the application owns its data's fate.
            _listener.OnSendFailed(this, e);
        }
        catch (ObjectDisposedException)
        {
            // The listener is stopping.
        }
    }

    public void ScheduleIdleCheck(long due)
    {
        Volatile.Write(ref _timerDue, due);
        _listener.Telemetry.Timers.Schedule(this, due);
    }

    void IDtlsTimerTarget.OnTimer() => _listener.OnIdleTimer(this);

    /// <summary>
    /// OpenSSL's cookie callbacks check the cookie of the ClientHello the listener already verified
    /// (with the whole ClientHello, which the callbacks do not get): the cookie it had is the one to
    /// match, also once it is older than <see cref="DtlsListenerOptions.CookieLifetime"/> while the
    /// ClientHello's later fragments arrive.
    /// </summary>
    public int WriteCookie(Span<byte> destination)
    {
        _cookie.CopyTo(destination);
        return _cookie.Length;
    }

    public bool VerifyCookie(ReadOnlySpan<byte> cookie) => System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(cookie, _cookie);

    /// <summary>Called by the session's release (it owns its transport): the peer leaves the listener's table.</summary>
    protected override void Dispose(bool disposing)
    {
        _listener.OnPeerReleased(this);
        base.Dispose(disposing);
    }

    private static (UInt128 Address, UInt128 Prefix) SourceKeys(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        IPAddress v6 = address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address;
        v6.TryWriteBytes(bytes, out _);
        UInt128 key = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        // IPv4: a /24, one subscriber's or one small network's block. IPv6: a /56, the usual
        // allocation to one site (RFC 6177), so one subscriber cannot spread over its 256 /64s.
        UInt128 mask = v6.IsIPv4MappedToIPv6 ? ~(UInt128)0xFF : UInt128.MaxValue << 72;
        return (key, key & mask);
    }
}
