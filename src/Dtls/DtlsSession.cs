using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>
/// Steps 2 and 3 of the classic recipe: one DTLS association with one peer. Create it over a
/// connected UDP socket (or any <see cref="DtlsDatagramTransport"/>), run <see cref="ConnectAsync"/> (client) or <see cref="AcceptAsync"/>
/// (server), then send and receive whole datagrams. Sends and receives may run concurrently; each
/// session serialises its own OpenSSL calls, and different sessions run in parallel.
/// </summary>
public sealed partial class DtlsSession : IAsyncDisposable, IDisposable, IDtlsTimerTarget
{
    private const int MaxRecordPlaintext = 16384;

    private readonly DtlsContext _context;
    private readonly SafeSslHandle _ssl;
    private readonly Lock _lock = new();
    private readonly DtlsDatagramTransport _transport;
    private DtlsContext? _ownedContext;
    private readonly Lock _receiveGate = new();
    private readonly ReceiveQueue<PooledDatagram> _received;
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

    // Whether records framed for DTLS 1.3 may reach OpenSSL (DtlsRecordFilter.Inspect): only while this
    // session may still negotiate DTLS 1.3; cleared when the handshake settles on DTLS 1.2.
    private bool _dtls13Framing;
    private long _retransmissions;

    /// <summary>
    /// Creates a session over a UDP socket that is already connected to the peer (step 2 of the recipe).
    /// The session receives on the socket with one async loop and hands each datagram, once its
    /// records have passed the record filter, to OpenSSL through this library's datagram BIO; see
    /// docs/architecture.md. The socket stays owned by the caller; dispose the session before the socket.
    /// </summary>
    /// <param name="context">A client context for <see cref="ConnectAsync"/>, a server context for <see cref="AcceptAsync"/>.</param>
    /// <param name="socket">A connected UDP socket (IPv4 or IPv6). The session starts receiving on it at once.</param>
    /// <exception cref="ArgumentException">The socket is not a connected UDP socket over IPv4 or IPv6.</exception>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    public DtlsSession(DtlsContext context, Socket socket)
        : this(context, new ConnectedSocketDriver(CheckSocket(socket), ownsSocket: false))
    {
    }

    /// <summary>
    /// Creates a session over a datagram transport the caller drives (see <see cref="DtlsDatagramTransport"/>):
    /// the session sends through <see cref="DtlsDatagramTransport.Send"/>, and the caller delivers each
    /// datagram received from the peer with <see cref="DtlsDatagramTransport.Deliver"/> once
    /// <see cref="ConnectAsync"/> or <see cref="AcceptAsync"/> has started. This is how a WebRTC
    /// application runs DTLS on its ICE socket (RFC 7983 §7 demultiplexing), and how
    /// <see cref="InMemoryDtlsTransport"/> pairs two sessions without sockets. The session owns the
    /// transport from here on: disposing the session (or a failed constructor) disposes it.
    /// </summary>
    /// <param name="context">A client context for <see cref="ConnectAsync"/>, a server context for <see cref="AcceptAsync"/>.</param>
    /// <param name="transport">A transport that carries no other session.</param>
    /// <exception cref="ArgumentException">A client context that validates certificates has no <see cref="DtlsClientOptions.TargetHost"/>, and the transport has no IP <see cref="DtlsDatagramTransport.RemoteEndPoint"/> to check the certificate against.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The transport's <see cref="DtlsDatagramTransport.HeaderOverhead"/> is below 0, above <see cref="DtlsDatagramTransport.MaximumHeaderOverhead"/> (255), or leaves less than <see cref="DtlsDatagramTransport.MinimumDatagramPayload"/> (208) bytes of the context's <see cref="DtlsOptions.Mtu"/>; <see cref="ArgumentException.ParamName"/> is "HeaderOverhead".</exception>
    /// <exception cref="InvalidOperationException">The transport already carries a session.</exception>
    /// <exception cref="ObjectDisposedException">The context or the transport was disposed.</exception>
    public DtlsSession(DtlsContext context, DtlsDatagramTransport transport)
        : this(context, transport, receiveQueueCapacity: 0)
    {
    }

    // receiveQueueCapacity: the receive queue's bound; 0 keeps DtlsOptions.ReceiveQueueCapacity
    // (DtlsListener passes its MaxQueuedDatagramsPerSession). The session owns the transport.
    internal DtlsSession(DtlsContext context, DtlsDatagramTransport transport, int receiveQueueCapacity)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(transport);
        transport.ThrowIfUnavailable();
        _context = context;
        _transport = transport;
        _dtls13Framing = DtlsProtocolSupport.MayNegotiateDtls13(context.Settings);
        // Two writers: the datagram path, and a cancelled ReceiveAsync's wake-up marker (see
        // ReceiveQueuedAsync). A full queue refuses the write: EnqueuePlaintext counts and frees the
        // datagram. Its lock is the receive gate, which a receive holds from its peek to its read.
        _received = new ReceiveQueue<PooledDatagram>(receiveQueueCapacity > 0 ? receiveQueueCapacity : context.Settings.ReceiveQueueCapacity, _receiveGate);

        bool ok = false;
        try
        {
            ObjectDisposedException.ThrowIf(context.IsDisposed, context);
            CheckHeaderOverhead(transport, context.Settings.Mtu);
            context.Handle.DangerousAddRef(ref _contextReferenced);
            _self = GCHandle.Alloc(this);
            DtlsDiagnostics.CallbackHandleAllocated();
            ErrorQueue.Clear();
            _ssl = ErrorQueue.ThrowIfInvalid(SSL_new(context.Handle), "SSL_new");
            SSL_set_app_data(_ssl, GCHandle.ToIntPtr(_self));
            AttachBio();
            ConfigureSsl(out _resumptionKey);
            InitPskLookup();
            transport.Attach(this);
            ok = true;
        }
        finally
        {
            if (!ok)
            {
                Release();
            }
        }

        transport.OnAttached(this);
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

    /// <summary>
    /// The negotiated protocol as a <see cref="DtlsProtocolVersion"/> (<c>SSL_version</c>: 0xFEFD for DTLS 1.2,
    /// 0xFEFC for DTLS 1.3 on a libssl that has it), or null before the handshake.
    /// </summary>
    public DtlsProtocolVersion? NegotiatedProtocol { get; private set; }

    /// <summary>The negotiated cipher suite's IANA name ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), or null before the handshake.</summary>
    public string? CipherSuite { get; private set; }

    /// <summary>
    /// The peer's certificate, or null if it sent none (PSK, or a client without one). Made on first
    /// read (the same instance afterwards) and disposed with the session.
    /// </summary>
    /// <remarks>
    /// Lazy because a managed <see cref="X509Certificate2"/> decodes the certificate again (DER and
    /// public key): 10 to 14 % of the CPU of a full handshake in docs/benchmarks.md's profile, paid
    /// by every session whether or not anyone reads it. The session keeps OpenSSL's reference instead.
    /// </remarks>
    public X509Certificate2? RemoteCertificate
    {
        get
        {
            if (Volatile.Read(ref _remoteCertificate) is { } made)
            {
                return made;
            }

            lock (_lock)
            {
                if (_remoteCertificate is null && _remoteCertificateHandle is { IsInvalid: false, IsClosed: false } handle)
                {
                    Volatile.Write(ref _remoteCertificate, CertificateConversion.FromNative(handle));
                }

                return _remoteCertificate;
            }
        }
    }

    private X509Certificate2? _remoteCertificate;
    private SafeX509Handle? _remoteCertificateHandle; // SSL_get1_peer_certificate's reference, until RemoteCertificate is read

    /// <summary>The ALPN protocol both sides agreed on, or null.</summary>
    public string? NegotiatedApplicationProtocol { get; private set; }

    /// <summary>The negotiated DTLS-SRTP protection profile ("SRTP_AEAD_AES_128_GCM"), or null.</summary>
    public string? SrtpProfile { get; private set; }

    /// <summary>
    /// The server name of this session (Server Name Indication, RFC 6066 §3), as
    /// <c>SslStream.TargetHostName</c>: on a server the host name the client sent in its ClientHello
    /// (<c>SSL_get_servername</c>; null when it sent none), on a client its
    /// <see cref="DtlsClientOptions.TargetHost"/>. Null before the handshake completes.
    /// </summary>
    public string? TargetHostName { get; private set; }

    /// <summary>True if the handshake resumed an earlier session instead of running a full one.</summary>
    public bool IsResumed { get; private set; }

    /// <summary>The largest payload one <see cref="SendAsync"/> can carry: one record in one datagram at the configured MTU (<c>DTLS_get_data_mtu</c>).</summary>
    public int MaxDatagramPayload { get; private set; }

    /// <summary>The local endpoint of the socket; null over a transport without one (<see cref="DtlsDatagramTransport.LocalEndPoint"/>).</summary>
    public EndPoint? LocalEndPoint => _transport.LocalEndPoint;

    /// <summary>The peer's endpoint; null over a transport without one (<see cref="DtlsDatagramTransport.RemoteEndPoint"/>).</summary>
    public EndPoint? RemoteEndPoint => _transport.RemoteEndPoint;

    /// <summary>Received datagrams dropped because the receive queue was full.</summary>
    public long DroppedDatagrams => Interlocked.Read(ref _droppedDatagrams);

    /// <summary>Handshake flights this side retransmitted because an answer did not come in time.</summary>
    public long Retransmissions => Interlocked.Read(ref _retransmissions);

    /// <summary>
    /// The shortest encrypted record <see cref="DtlsRecordFilter"/> lets through to this session:
    /// the handshake's bound, then the negotiated cipher's. Set where the handshake completes, on the
    /// thread processing that datagram, so the next datagram already gets the cipher's bound.
    /// While a PSK key lookup holds this session's datagrams (DtlsSession.PskLookup.cs) the handshake
    /// completes on the lookup's thread, so the listener's first look lets every length through: the
    /// session's own filter checks what it held with the right bound when it feeds it.
    /// </summary>
    internal int MinimumEncryptedRecord => _pskPhase is PskLookupPhase.Pending or PskLookupPhase.Replaying ? 0 : Volatile.Read(ref _minimumEncryptedRecord);

    internal CertificateVerification Verification => _verification ??= new CertificateVerification(this);

    internal string? ExpectedHost { get; private set; }

    internal int HeaderOverhead => _transport.HeaderOverhead;

    /// <summary>
    /// A transport's header overhead must leave a datagram OpenSSL can work with: 0 to
    /// <paramref name="mtu"/> minus <see cref="DtlsDatagramTransport.MinimumDatagramPayload"/>, and at
    /// most <see cref="DtlsDatagramTransport.MaximumHeaderOverhead"/> (see there: OpenSSL's unsigned minimum MTU).
    /// </summary>
    private static void CheckHeaderOverhead(DtlsDatagramTransport transport, int mtu)
    {
        int overhead = transport.HeaderOverhead;
        int max = Math.Min(mtu - DtlsDatagramTransport.MinimumDatagramPayload, DtlsDatagramTransport.MaximumHeaderOverhead);
        if (overhead < 0 || overhead > max)
        {
            throw SettingErrors.OutOfRange(nameof(DtlsDatagramTransport.HeaderOverhead), overhead,
                $"HeaderOverhead of {transport.GetType().Name} must be between 0 and {max} bytes with Mtu {mtu}: at most {DtlsDatagramTransport.MaximumHeaderOverhead} (OpenSSL's 256-byte minimum link MTU is reduced by it), "
                + $"and leaving at least {DtlsDatagramTransport.MinimumDatagramPayload} bytes of Mtu for the datagram (the minimum link MTU less IPv6 and UDP headers).");
        }
    }

    /// <summary>The peer as messages name it: its address, or the transport's kind where it has none (<see cref="DtlsDatagramTransport.PeerName"/>).</summary>
    internal string PeerName => _transport.PeerName;

    long IDtlsTimerTarget.TimerDue => Interlocked.Read(ref _timerDue);

    private static Socket CheckSocket(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.SocketType != SocketType.Dgram)
        {
            throw SettingErrors.Invalid(nameof(socket), "DTLS needs a UDP (datagram) socket.");
        }

        if (socket.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw SettingErrors.Invalid(nameof(socket), $"DTLS over a socket needs an IPv4 or IPv6 UDP socket, not {socket.AddressFamily}.");
        }

        if (!socket.Connected || socket.RemoteEndPoint is null)
        {
            throw SettingErrors.Invalid(nameof(socket), "The socket must be connected to the peer (Socket.Connect) before a session is created on it.");
        }

        return socket;
    }

    private void AttachBio()
    {
        SafeBioHandle bio = DatagramBio.Create(_self);
        SSL_set_bio(_ssl, bio, bio);
        bio.TransferOwnership();
    }

    private unsafe void ConfigureSsl(out string? resumptionKey)
    {
        resumptionKey = null;
        DtlsOptions options = _context.Settings;
        // docs/architecture.md (secure defaults): an explicit MTU, never one guessed by querying the socket.
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
        if (ExpectedHost is null && !client.InsecureSkipCertificateValidation)
        {
            // Without a name or an address there is nothing to check the certificate's subject against.
            throw SettingErrors.Invalid(nameof(client.TargetHost), $"The transport has no IP endpoint ({_transport.GetType().Name}), so set TargetHost: the server's certificate is checked against it.");
        }
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
            resumptionKey = ClientSessionCache.Key(client.TargetHost, remote);
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
        ObjectDisposedException disposed;
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

            // One exception object for every waiter, and none for a handshake that already ended:
            // three were made per session (docs/benchmarks.md, fixed costs per connection).
            disposed = new ObjectDisposedException(nameof(DtlsSession));
            _failure ??= disposed;
            if (_state == SessionState.Handshaking)
            {
                EndHandshakeTelemetry(disposed);
            }

            EndSessionTelemetry();
            _state = SessionState.Disposed;
            Interlocked.Exchange(ref _timerDue, 0); // the timer queue may now drop its entry (and this session)
            if (_handshake is { Task.IsCompleted: false })
            {
                _handshake.TrySetException(disposed);
            }

            EndPskLookup();
        }

        _received.TryComplete(disposed);
        lock (_receiveGate)
        {
            // Under the gate a receive holds from its peek to its copy: a datagram is returned to the
            // pool either by that receive or here, never by both.
            while (_received.TryRead(out PooledDatagram d))
            {
                d.Return();
            }
        }

        Release();
        lock (_lock)
        {
            _remoteCertificateHandle?.Dispose();
            _remoteCertificate?.Dispose();
        }

        // docs/architecture.md's order: session (with the transport it owns), then context.
        _ownedContext?.Dispose();
    }

    internal void OwnContext() => _ownedContext = _context;

    /// <inheritdoc cref="Dispose" />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private void Release()
    {
        _transport.Dispose();
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
                ErrorQueue.Clear();
                _ = SSL_shutdown(_ssl);
                ErrorQueue.Clear();
            }
        }
    }

    internal void StoreCallbackException(Exception e) => _callbackException ??= e;

    /// <summary>
    /// An application callback threw: the session fails with a <see cref="DtlsException"/> (or the
    /// <paramref name="wrapped"/> exception) holding <paramref name="e"/> as its inner exception, once
    /// the native call returns. Where OpenSSL cannot be told to fail (<paramref name="openSslAborts"/>
    /// false: the key log callback returns nothing), the rest of that call's output is held back and
    /// the peer gets a fatal internal_error alert instead, so that it never believes a handshake
    /// completed that this side abandoned.
    /// </summary>
    internal void UserCallbackFailed(string callback, Exception e, bool openSslAborts, DtlsException? wrapped = null)
    {
        if (_callbackException is null)
        {
            // One Warning per failure that ends the call, not one per later callback of that call.
            SessionLog.CallbackFailed(Telemetry.SessionLogger, callback, PeerName, e);
        }

        _callbackException ??= wrapped ?? new DtlsException($"The {callback} callback threw {e.GetType().Name}: {e.Message}", e);
        _abandoned |= !openSslAborts;
    }

    // Set when a callback failed where OpenSSL goes on regardless: what OpenSSL writes is not sent.
    private bool _abandoned;

    private void RethrowCallbackException()
    {
        if (_callbackException is { } e)
        {
            _callbackException = null;
            if (_abandoned)
            {
                SendPlaintextAlert(AlertInternalError);
            }

            if (e is SocketException socketError)
            {
                // A send that failed for good (not an ICMP error, which the transport absorbs).
                throw TransportFailure(socketError);
            }

            ExceptionDispatchInfo.Throw(e);
        }
    }

    /// <summary>A socket failure as this library reports it: a <see cref="DtlsException"/> whose inner exception is the socket's.</summary>
    internal DtlsException TransportFailure(SocketException e) =>
        new($"The DTLS session with {PeerName} failed on the socket: {e.Message} ({e.SocketErrorCode})", e);

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

        LogAlert(alert);
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
        /// <summary>default: no datagram, only wakes a ReceiveAsync whose token was cancelled.</summary>
        public bool IsWakeUp => Buffer is null;

        public void Return()
        {
            if (IsWakeUp)
            {
                return;
            }

            Budget?.Give(Buffer.Length);
            ArrayPool<byte>.Shared.Return(Buffer);
        }
    }
}
