using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>
/// Steps 2 and 3 of the classic recipe: one DTLS association with one peer. Create it over a
/// connected UDP socket, run <see cref="ConnectAsync"/> (client) or <see cref="AcceptAsync"/>
/// (server), then send and receive whole datagrams. Sends and receives may run concurrently; each
/// session serialises its own OpenSSL calls, and different sessions run in parallel.
/// </summary>
public sealed partial class DtlsSession : IAsyncDisposable, IDisposable, IDtlsTimerTarget
{
    private const int MaxRecordPlaintext = 16384;

    private readonly DtlsContext _context;
    private readonly SafeSslHandle _ssl;
    private readonly Lock _lock = new();
    private readonly Socket? _socket;
    private readonly IDatagramSender? _sender;
    private readonly IDisposable? _ownedTransport;
    private Socket? _ownedSocket;
    private DtlsContext? _ownedContext;
    private readonly Channel<PooledDatagram>? _received;
    private readonly Lock _receiveGate = new();
    private readonly string? _resumptionKey;
    private GCHandle _self;
    private bool _contextReferenced;

    private SessionState _state;
    private Exception? _failure;
    private Exception? _callbackException;
    private CertificateVerification? _verification;
    private TaskCompletionSource? _handshake;
    private long _handshakeDeadline;
    private long _timerDue;
    private unsafe byte* _inbound;
    private int _inboundLength;
    private long _droppedDatagrams;
    private int _minimumEncryptedRecord = DtlsRecordFilter.HandshakeMinimum;
    private long _retransmissions;

    /// <summary>
    /// Creates a session over a UDP socket that is already connected to the peer (step 2 of the recipe).
    /// The socket stays owned by the caller; dispose the session before the socket.
    /// </summary>
    /// <param name="context">A client context for <see cref="ConnectAsync"/>, a server context for <see cref="AcceptAsync"/>.</param>
    /// <param name="socket">A connected UDP socket. It is switched to non-blocking mode.</param>
    /// <param name="io">Whether OpenSSL (<c>BIO_new_dgram</c>) or .NET (our datagram BIO) does the socket I/O.</param>
    /// <exception cref="ArgumentException">The socket is not a connected UDP socket.</exception>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    public DtlsSession(DtlsContext context, Socket socket, DtlsSocketIo io = DtlsSocketIo.OpenSsl)
        : this(context, io == DtlsSocketIo.OpenSsl ? CheckSocket(socket) : null, io == DtlsSocketIo.Managed ? new ConnectedSocketDriver(CheckSocket(socket), ownsSocket: false) : null, ownsTransport: true)
    {
    }

    // receiveQueueCapacity: over our BIO, the receive queue's bound; 0 keeps DtlsOptions.ReceiveQueueCapacity
    // (DtlsListener passes its MaxQueuedDatagramsPerSession).
    internal DtlsSession(DtlsContext context, Socket? socket, IDatagramSender? sender, bool ownsTransport, int receiveQueueCapacity = 0)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _socket = socket;
        _sender = sender;
        _ownedTransport = ownsTransport ? sender as IDisposable : null;
        if (sender is not null)
        {
            _received = Channel.CreateBounded<PooledDatagram>(
                new BoundedChannelOptions(receiveQueueCapacity > 0 ? receiveQueueCapacity : context.Options.ReceiveQueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleWriter = true },
                dropped => { Interlocked.Increment(ref _droppedDatagrams); dropped.Return(); });
        }

        bool ok = false;
        try
        {
            ObjectDisposedException.ThrowIf(context.IsDisposed, context);
            context.Handle.DangerousAddRef(ref _contextReferenced);
            if (socket is not null)
            {
                socket.Blocking = false;
            }

            _self = GCHandle.Alloc(this);
            DtlsDiagnostics.CallbackHandleAllocated();
            ErrorQueue.Clear();
            _ssl = ErrorQueue.ThrowIfInvalid(SSL_new(context.Handle), "SSL_new");
            SSL_set_app_data(_ssl, GCHandle.ToIntPtr(_self));
            AttachBio();
            ConfigureSsl(out _resumptionKey);
            (sender as ConnectedSocketDriver)?.Start(this);
            ok = true;
        }
        finally
        {
            if (!ok)
            {
                Release();
            }
        }
    }

    private enum SessionState
    {
        Created,
        Handshaking,
        Established,
        Closed,
        Failed,
        Disposed,
    }

    /// <summary>The context this session was made from.</summary>
    public DtlsContext Context => _context;

    /// <summary>True once the handshake has completed.</summary>
    public bool IsAuthenticated { get; private set; }

    /// <summary>True for the accepting (server) side.</summary>
    public bool IsServer => _context.IsServer;

    /// <summary>The negotiated protocol ("DTLSv1.2"), or null before the handshake.</summary>
    public string? ProtocolVersion { get; private set; }

    /// <summary>The negotiated cipher suite's IANA name ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), or null before the handshake.</summary>
    public string? CipherSuite { get; private set; }

    /// <summary>The peer's certificate, or null if it sent none (PSK, or a client without one).</summary>
    public X509Certificate2? RemoteCertificate { get; private set; }

    /// <summary>The ALPN protocol both sides agreed on, or null.</summary>
    public string? NegotiatedApplicationProtocol { get; private set; }

    /// <summary>The negotiated DTLS-SRTP protection profile ("SRTP_AEAD_AES_128_GCM"), or null.</summary>
    public string? SrtpProfile { get; private set; }

    /// <summary>True if the handshake resumed an earlier session instead of running a full one.</summary>
    public bool IsResumed { get; private set; }

    /// <summary>On a PSK server, the identity the client presented; otherwise null.</summary>
    public string? PskIdentity { get; internal set; }

    /// <summary>The largest payload one <see cref="SendAsync"/> can carry: one record in one datagram at the configured MTU (<c>DTLS_get_data_mtu</c>).</summary>
    public int MaxDatagramPayload { get; private set; }

    /// <summary>The local endpoint of the socket.</summary>
    public EndPoint? LocalEndPoint => _socket?.LocalEndPoint ?? _sender?.LocalEndPoint;

    /// <summary>The peer's endpoint.</summary>
    public EndPoint? RemoteEndPoint => _socket?.RemoteEndPoint ?? _sender?.RemoteEndPoint;

    /// <summary>Received datagrams dropped because the receive queue was full.</summary>
    public long DroppedDatagrams => Interlocked.Read(ref _droppedDatagrams);

    /// <summary>Handshake flights this side retransmitted because an answer did not come in time.</summary>
    public long Retransmissions => Interlocked.Read(ref _retransmissions);

    /// <summary>
    /// The shortest encrypted record <see cref="DtlsRecordFilter"/> lets through to this session:
    /// the handshake's bound, then the negotiated cipher's. Set where the handshake completes, on the
    /// thread processing that datagram, so the next datagram already gets the cipher's bound.
    /// </summary>
    internal int MinimumEncryptedRecord => Volatile.Read(ref _minimumEncryptedRecord);

    internal CertificateVerification Verification => _verification ??= new CertificateVerification(this);

    internal string? ExpectedHost { get; private set; }

    internal int HeaderOverhead =>
        _sender?.HeaderOverhead ?? SocketAddressing.HeaderOverhead(_socket?.RemoteEndPoint?.AddressFamily);

    long IDtlsTimerTarget.TimerDue => Interlocked.Read(ref _timerDue);

    private static Socket CheckSocket(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.SocketType != SocketType.Dgram)
        {
            throw SettingErrors.Invalid(nameof(socket), "DTLS needs a UDP (datagram) socket.");
        }

        if (!socket.Connected || socket.RemoteEndPoint is null)
        {
            throw SettingErrors.Invalid(nameof(socket), "The socket must be connected to the peer (Socket.Connect) before a session is created on it.");
        }

        return socket;
    }

    private unsafe void AttachBio()
    {
        SafeBioHandle bio;
        if (_socket is not null)
        {
            bio = ErrorQueue.ThrowIfInvalid(LibCrypto.BIO_new_dgram((int)_socket.SafeHandle.DangerousGetHandle(), LibCrypto.BIO_NOCLOSE), "BIO_new_dgram");
            using SafeBioAddrHandle peer = SocketAddressing.ToBioAddr((IPEndPoint)_socket.RemoteEndPoint!);
            // A connected BIO uses send() and knows the peer's family, hence the right header overhead.
            LibCrypto.BIO_ctrl_set_connected(bio, peer);
        }
        else
        {
            bio = DatagramBio.Create(_self);
        }

        SSL_set_bio(_ssl, bio, bio);
        bio.TransferOwnership();
    }

    private unsafe void ConfigureSsl(out string? resumptionKey)
    {
        resumptionKey = null;
        DtlsOptions options = _context.Options;
        // DESIGN §6: an explicit MTU, never one guessed by querying the socket.
        SSL_set_options(_ssl, SSL_OP_NO_QUERY_MTU);
        if (DTLS_set_link_mtu(_ssl, options.Mtu) != 1)
        {
            throw SettingErrors.Invalid(nameof(options.Mtu), $"Mtu {options.Mtu} is below the minimum OpenSSL accepts ({DTLS_get_link_min_mtu(_ssl)}).");
        }

        DTLS_set_timer_cb(_ssl, &NativeCallbacks.OnTimer);
        if (_context.IsServer)
        {
            SSL_set_accept_state(_ssl);
            return;
        }

        var client = (DtlsClientOptions)options;
        IPEndPoint? remote = RemoteEndPoint as IPEndPoint;
        ExpectedHost = client.TargetHost ?? remote?.Address.ToString();
        if (ExpectedHost is not null && !client.InsecureSkipCertificateValidation)
        {
            ErrorQueue.ThrowIfNotOne(SSL_set1_host(_ssl, ExpectedHost), "SSL_set1_host");
        }

        // RFC 6066 §3: SNI carries DNS names only, never address literals.
        if (client.TargetHost is not null && !IPAddress.TryParse(client.TargetHost, out _))
        {
            ErrorQueue.ThrowIfNotOne(SSL_set_tlsext_host_name(_ssl, client.TargetHost), "SSL_set_tlsext_host_name");
        }

        if (_context.ClientSessions is { } cache)
        {
            resumptionKey = $"{client.TargetHost}|{remote}";
            if (cache.Find(resumptionKey) is { } previous && !previous.IsClosed)
            {
                ErrorQueue.ThrowIfNotOne(SSL_set_session(_ssl, previous), "SSL_set_session");
            }
        }

        SSL_set_connect_state(_ssl);
    }

    /// <summary>Runs the client handshake (DTLS 1.2 with cookie exchange), retransmitting lost flights.</summary>
    /// <exception cref="InvalidOperationException">This is a server session, or the handshake already ran.</exception>
    /// <exception cref="DtlsAuthenticationException">A certificate was rejected; the exception says which check failed.</exception>
    /// <exception cref="DtlsException">The handshake failed; the alert and OpenSSL's errors are attached.</exception>
    /// <exception cref="TimeoutException">The peer did not complete the handshake within <see cref="DtlsOptions.HandshakeTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask ConnectAsync(CancellationToken cancellationToken = default) => HandshakeAsync(server: false, cancellationToken);

    /// <summary>Runs the server handshake. The same failures as <see cref="ConnectAsync"/>.</summary>
    /// <exception cref="InvalidOperationException">This is a client session, or the handshake already ran.</exception>
    public ValueTask AcceptAsync(CancellationToken cancellationToken = default) => HandshakeAsync(server: true, cancellationToken);

    /// <summary>Blocking <see cref="ConnectAsync"/>, as in the classic recipe's <c>SSL_connect</c>.</summary>
    public void Connect() => ConnectAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Blocking <see cref="AcceptAsync"/>, as in the classic recipe's <c>SSL_accept</c>.</summary>
    public void Accept() => AcceptAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Exports keying material (RFC 5705), for example the DTLS-SRTP master keys (RFC 5764 §4.2: label "EXTRACTOR-dtls_srtp", no context).</summary>
    /// <exception cref="InvalidOperationException">The handshake has not completed.</exception>
    public unsafe byte[] ExportKeyingMaterial(string label, ReadOnlySpan<byte> context, int length, bool useContext = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        byte[] output = new byte[length];
        byte[] labelBytes = System.Text.Encoding.ASCII.GetBytes(label);
        lock (_lock)
        {
            ThrowIfNotEstablished();
            fixed (byte* o = output)
            fixed (byte* l = labelBytes)
            fixed (byte* c = context)
            {
                ErrorQueue.Clear();
                ErrorQueue.ThrowIfNotOne(SSL_export_keying_material(_ssl, o, (nuint)length, l, (nuint)labelBytes.Length, c, (nuint)context.Length, useContext ? 1 : 0), "SSL_export_keying_material");
            }
        }

        return output;
    }

    /// <summary>Sends close_notify: the peer's receive then reports end of stream. The session can still receive.</summary>
    public ValueTask ShutdownAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ThrowIfDisposed();
            SendCloseNotify();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Sends close_notify if the session is established, then frees the native session.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_state == SessionState.Disposed)
            {
                return;
            }

            try
            {
                SendCloseNotify();
            }
            catch (Exception e) when (e is SocketException or OpenSslException or DtlsException or ObjectDisposedException)
            {
                // Best effort: the peer learns of the end by its idle timeout instead.
            }

            _failure ??= new ObjectDisposedException(nameof(DtlsSession));
            _state = SessionState.Disposed;
            _handshake?.TrySetException(new ObjectDisposedException(nameof(DtlsSession)));
        }

        _ended.Cancel(); // after _state became Disposed, so that a woken receive sees the disposal
        if (_received is not null)
        {
            _received.Writer.TryComplete(new ObjectDisposedException(nameof(DtlsSession)));
            while (_received.Reader.TryRead(out PooledDatagram d))
            {
                d.Return();
            }
        }

        Release();
        RemoteCertificate?.Dispose();
        // DESIGN §4's order: session, then socket, then context.
        _ownedSocket?.Dispose();
        _ownedContext?.Dispose();
    }

    internal void OwnSocket(Socket socket) => _ownedSocket = socket;

    internal void OwnContext() => _ownedContext = _context;

    /// <inheritdoc cref="Dispose" />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private void Release()
    {
        _ownedTransport?.Dispose();
        lock (_lock)
        {
            // SSL_free also frees the BIO; only then may the GCHandle its callbacks use go away.
            _ssl?.Dispose();
        }

        if (_self.IsAllocated)
        {
            _self.Free();
            DtlsDiagnostics.CallbackHandleFreed();
        }

        if (_contextReferenced)
        {
            _context.Handle.DangerousRelease();
            _contextReferenced = false;
        }
    }

    private void SendCloseNotify()
    {
        if (_state == SessionState.Established || _state == SessionState.Closed)
        {
            if ((SSL_get_shutdown(_ssl) & SSL_SENT_SHUTDOWN) == 0)
            {
                using SocketLease lease = new(_socket);
                ErrorQueue.Clear();
                _ = SSL_shutdown(_ssl);
                ErrorQueue.Clear();
            }
        }
    }

    internal void StoreCallbackException(Exception e) => _callbackException ??= e;

    private void RethrowCallbackException()
    {
        if (_callbackException is { } e)
        {
            _callbackException = null;
            ExceptionDispatchInfo.Throw(e);
        }
    }

    internal void RecordAlert(int value, bool sent)
    {
        int level = value >> 8;
        int description = value & 0xFF;
        if (description == 0 && !sent)
        {
            return; // close_notify is the normal end, not a failure.
        }

        var alert = new DtlsAlert(description, SSL_alert_desc_string_long(value), level == 2, sent);
        if (_lastAlert is null || alert.IsFatal)
        {
            _lastAlert = alert;
        }
    }

    private DtlsAlert? _lastAlert;

    private void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(_state == SessionState.Disposed, this);
    }

    private void ThrowIfNotEstablished()
    {
        ThrowIfDisposed();
        if (_state == SessionState.Failed && _failure is not null)
        {
            ExceptionDispatchInfo.Throw(_failure);
        }

        if (_state != SessionState.Established && _state != SessionState.Closed)
        {
            throw new InvalidOperationException("The handshake has not completed; call ConnectAsync or AcceptAsync first.");
        }
    }


    // Budget: the session's account in the listener's byte budget the buffer is charged to (DtlsSession.Listener.cs), or null.
    private readonly record struct PooledDatagram(byte[] Buffer, int Length, QueuedDatagramBudget.Account? Budget = null)
    {
        public void Return()
        {
            Budget?.Give(Buffer.Length);
            ArrayPool<byte>.Shared.Return(Buffer);
        }
    }

    private static long Now => Stopwatch.GetTimestamp();

    private static long After(TimeSpan span) => Now + (long)(span.TotalSeconds * Stopwatch.Frequency);
}
