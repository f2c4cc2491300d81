using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>
/// A DTLS server on one UDP port for any number of peers (docs/architecture.md, the listener): datagrams are demultiplexed by
/// the peer's address onto sessions driven by the receive loop, without a thread or a timer per peer.
/// Unknown peers first pass a stateless cookie exchange, so spoofed ClientHellos create no state and
/// get no reply larger than themselves. <see cref="AcceptAsync"/> hands out established sessions.
/// </summary>
/// <example>
/// <code>
/// await using DtlsListener listener = DtlsListener.Listen(new DtlsListenerOptions
/// {
///     LocalEndPoint = new IPEndPoint(IPAddress.IPv6Any, 4433),
///     ServerOptions = new DtlsServerOptions { Certificate = certificate },
/// });
/// while (true)
/// {
///     DtlsSession session = await listener.AcceptAsync(cancellationToken);
///     _ = ServeAsync(session, cancellationToken);
/// }
/// </code>
/// </example>
public sealed partial class DtlsListener : IAsyncDisposable
{
    private readonly DtlsListenerOptions _options;
    private DtlsContext _context;
    private readonly Socket[] _sockets;
    private readonly Task[] _loops;
    private readonly ILogger _logger;
    private readonly DtlsInstruments _instruments;
    private readonly TagList _tags;
    private readonly long _idleTicks;
    private readonly ConcurrentDictionary<SocketAddress, ListenerPeer> _peers = new();
    private readonly Channel<ListenerPeer> _accepted = Channel.CreateUnbounded<ListenerPeer>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly CancellationTokenSource _stopping = new();
    private readonly PendingHandshakeTable _pendingHandshakes;
    private readonly QueuedDatagramBudget _queueBudget;
    private readonly PskLookupBudget _pskLookups;
    private int _disposed;

    private int _established;
    private long _datagramsReceived;
    private long _datagramsSent;
    private long _handshakesStarted;
    private long _handshakesCompleted;
    private long _handshakesFailed;
    private long _handshakesTimedOut;
    private long _cookiesSent;
    private long _cookiesVerified;
    private long _cookiesRejected;
    private long _refusedSessions;
    private long _refusedPending;
    private long _refusedSource;
    private long _handshakesEvicted;
    private long _droppedUnverifiedFragments;
    private long _droppedReassembly;
    private long _droppedOverBudget;
    private long _reassemblyBytes;
    private long _droppedMalformed;
    private long _droppedNotClientHello;
    private long _droppedTooLarge;
    private long _droppedQueueFull;
    private long _idleReaped;
    private long _replaced;
    private long _retransmissions;
    private long _sendErrors;

    private DtlsListener(DtlsListenerOptions options, DtlsContext context, Socket[] sockets)
    {
        _options = options;
        _context = context;
        _sockets = sockets;
        Telemetry = context.Telemetry;
        _logger = Telemetry.CreateLogger("OpenSsl.Dtls.DtlsListener");
        _instruments = Telemetry.Instruments;
        _refusalLog = new LogRateLimiter(10, Telemetry.Time);
        _idleTicks = options.IdleTimeout == Timeout.InfiniteTimeSpan ? 0 : Telemetry.Ticks(options.IdleTimeout);
        Cookies = new CookieAuthority(options.CookieSecret.Span, options.CookieSecretRotation, options.CookieLifetime, Telemetry.Time);
        _pendingHandshakes = new PendingHandshakeTable(options, Telemetry);
        _pskLookups = new PskLookupBudget(options.MaxPendingPskLookups, _logger, Telemetry.Time);
        LocalEndPoint = (IPEndPoint)sockets[0].LocalEndPoint!;
        _tags = new TagList
        {
            { "network.transport", "udp" },
            { "server.address", LocalEndPoint.Address.ToString() },
            { "server.port", LocalEndPoint.Port },
        };
        _queueBudget = new QueuedDatagramBudget(options.MaxQueuedBytes, _instruments.QueuedBytes, _tags);

        // With SO_REUSEPORT each socket has its own loop; otherwise the loops share the one socket.
        _loops = new Task[Math.Max(options.ReceiveLoops, sockets.Length)];
        for (int i = 0; i < _loops.Length; i++)
        {
            Socket socket = sockets[i % sockets.Length];
            _loops[i] = StartReceiveLoop(socket, i);
        }

        OpenSslLog.LoadedOnce(_logger);
        ListenerLog.Started(_logger, LocalEndPoint, sockets.Length, _loops.Length);
    }

    /// <summary>The address and port the listener is bound to (the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>A snapshot of the listener's counters.</summary>
    public DtlsListenerStatistics Statistics => new()
    {
        ActiveSessions = Math.Max(0, Volatile.Read(ref _established)),
        PendingHandshakes = _pendingHandshakes.Count,
        DatagramsReceived = Interlocked.Read(ref _datagramsReceived),
        DatagramsSent = Interlocked.Read(ref _datagramsSent),
        HandshakesStarted = Interlocked.Read(ref _handshakesStarted),
        HandshakesCompleted = Interlocked.Read(ref _handshakesCompleted),
        HandshakesFailed = Interlocked.Read(ref _handshakesFailed),
        HandshakesTimedOut = Interlocked.Read(ref _handshakesTimedOut),
        CookiesSent = Interlocked.Read(ref _cookiesSent),
        CookiesVerified = Interlocked.Read(ref _cookiesVerified),
        CookiesRejected = Interlocked.Read(ref _cookiesRejected),
        RefusedOverSessionLimit = Interlocked.Read(ref _refusedSessions),
        RefusedOverPendingLimit = Interlocked.Read(ref _refusedPending),
        RefusedOverSourceLimit = Interlocked.Read(ref _refusedSource),
        HandshakesEvicted = Interlocked.Read(ref _handshakesEvicted),
        DroppedUnverifiedFragments = Interlocked.Read(ref _droppedUnverifiedFragments),
        DroppedOverReassemblyLimit = Interlocked.Read(ref _droppedReassembly),
        DroppedOverMemoryBudget = Interlocked.Read(ref _droppedOverBudget),
        ReassemblyBytes = Interlocked.Read(ref _reassemblyBytes),
        QueuedBytes = _queueBudget.Used,
        DroppedMalformed = Interlocked.Read(ref _droppedMalformed),
        DroppedNotClientHello = Interlocked.Read(ref _droppedNotClientHello),
        DroppedTooLarge = Interlocked.Read(ref _droppedTooLarge),
        DroppedQueueFull = Interlocked.Read(ref _droppedQueueFull),
        IdleSessionsReaped = Interlocked.Read(ref _idleReaped),
        SessionsReplaced = Interlocked.Read(ref _replaced),
        Retransmissions = Interlocked.Read(ref _retransmissions),
        SendErrors = Interlocked.Read(ref _sendErrors),
        PskLookupsInFlight = _pskLookups.InFlight,
        RefusedOverPskLookupLimit = _pskLookups.Refused,
        PskLookupsAbandoned = _pskLookups.Abandoned,
    };

    internal CookieAuthority Cookies { get; }

    /// <summary>The listener's clock, timer queue, loggers and instruments (those of its context).</summary>
    internal DtlsTelemetry Telemetry { get; }

    /// <summary>
    /// Validates <paramref name="options"/>, creates the server context, binds the socket(s) and starts
    /// receiving. Peers can connect as soon as this returns. The listener works from a copy of
    /// <paramref name="options"/> (and of its <see cref="DtlsListenerOptions.ServerOptions"/>) taken here;
    /// changing them afterwards has no effect on it.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid; the message and <see cref="ArgumentException.ParamName"/> name it.</exception>
    /// <exception cref="SocketException">The address could not be bound (in use, not local).</exception>
    /// <exception cref="PlatformNotSupportedException">OpenSSL 3.x could not be loaded.</exception>
    public static DtlsListener Listen(DtlsListenerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The listener keeps its own copy (and the context its own copy of ServerOptions): changing the
        // options object afterwards changes nothing here (docs/architecture.md, options are snapshotted).
        options = options.Snapshot();
        IPEndPoint local = Validate(options);
        DtlsContext context = CreateServerContext(options, options.ServerOptions);
        Socket[]? sockets = null;
        try
        {
            sockets = ListenerSockets.Open(local, options.ReceiveLoops);
            return new DtlsListener(options, context, sockets);
        }
        catch
        {
            if (sockets is not null)
            {
                foreach (Socket socket in sockets)
                {
                    socket.Dispose();
                }
            }

            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The one way a listener makes a server context, for <see cref="Listen"/> and
    /// <see cref="UpdateServerOptions"/> alike: <paramref name="serverOptions"/> with the listener's
    /// <see cref="DtlsListenerOptions.LoggerFactory"/>, <see cref="DtlsListenerOptions.MeterFactory"/>
    /// and <see cref="DtlsListenerOptions.TimeProvider"/>, its cookie callbacks and reduced buffers.
    /// </summary>
    /// <exception cref="ArgumentException">A server option is invalid (nothing is left to dispose).</exception>
    private static DtlsContext CreateServerContext(DtlsListenerOptions listenerOptions, DtlsServerOptions serverOptions)
    {
        var context = new DtlsContext(serverOptions, listenerOptions.LoggerFactory, listenerOptions.MeterFactory, listenerOptions.TimeProvider);
        try
        {
            EnableCookieCallbacks(context);
            ReduceBuffers(context);
            return context;
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>Waits for the next established session (handshake completed). The caller owns it and disposes it when done.</summary>
    /// <exception cref="ObjectDisposedException">The listener was disposed, also while waiting.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<DtlsSession> AcceptAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        while (true)
        {
            ListenerPeer peer;
            try
            {
                peer = await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException e)
            {
                throw new ObjectDisposedException(nameof(DtlsListener), e);
            }

            // A session reaped or replaced before anyone accepted it is already gone.
            if (peer.State == ListenerPeer.StateEstablished && peer.Session is { } session)
            {
                return session;
            }
        }
    }

    /// <summary>
    /// Stops receiving, sends close_notify to every established session (also those already
    /// accepted: their readers then see the end of the stream), ends handshakes in progress, and frees
    /// the sockets, the sessions and the context. Pending <see cref="AcceptAsync"/> calls fail with
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _accepted.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);

        // The loops are done, so no new peer appears; the sockets stay open for the close_notify alerts.
        int closed = 0;
        foreach (KeyValuePair<SocketAddress, ListenerPeer> entry in _peers)
        {
            // A restarted client's handshake in progress lives beside its old association.
            entry.Value.Successor?.Session?.Dispose();
            entry.Value.Session?.Dispose();
            closed++;
        }

        while (_accepted.Reader.TryRead(out _))
        {
        }

        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }

        Volatile.Read(ref _context).Dispose();
        _stopping.Dispose();
        ListenerLog.Stopped(_logger, LocalEndPoint, closed);
    }

    private static IPEndPoint Validate(DtlsListenerOptions o)
    {
        if (o.LocalEndPoint is not IPEndPoint local)
        {
            throw SettingErrors.Invalid(nameof(o.LocalEndPoint), o.LocalEndPoint is null ? "LocalEndPoint is required (an IPEndPoint: an address and a port)." : "LocalEndPoint must be an IPEndPoint (an address and a port).");
        }

        if (o.ServerOptions is null)
        {
            throw SettingErrors.Invalid(nameof(o.ServerOptions), "ServerOptions is required.");
        }

        if (o.MaxSessions < 1)
        {
            throw SettingErrors.OutOfRange(nameof(o.MaxSessions), o.MaxSessions, "MaxSessions must be at least 1.");
        }

        if (o.MaxPendingHandshakes < 1)
        {
            throw SettingErrors.OutOfRange(nameof(o.MaxPendingHandshakes), o.MaxPendingHandshakes, "MaxPendingHandshakes must be at least 1.");
        }

        if (o.MaxPendingPskLookups < 1)
        {
            throw SettingErrors.OutOfRange(nameof(o.MaxPendingPskLookups), o.MaxPendingPskLookups, "MaxPendingPskLookups must be at least 1.");
        }

        if (o.MaxPendingHandshakesPerAddress < 1)
        {
            throw SettingErrors.OutOfRange(nameof(o.MaxPendingHandshakesPerAddress), o.MaxPendingHandshakesPerAddress, "MaxPendingHandshakesPerAddress must be at least 1.");
        }

        if (o.MaxPendingHandshakesPerPrefix < o.MaxPendingHandshakesPerAddress)
        {
            throw SettingErrors.OutOfRange(nameof(o.MaxPendingHandshakesPerPrefix), o.MaxPendingHandshakesPerPrefix, $"MaxPendingHandshakesPerPrefix must be at least MaxPendingHandshakesPerAddress ({o.MaxPendingHandshakesPerAddress}).");
        }

        if (o.PendingHandshakeTimeoutWhenFull <= TimeSpan.Zero)
        {
            throw SettingErrors.OutOfRange(nameof(o.PendingHandshakeTimeoutWhenFull), o.PendingHandshakeTimeoutWhenFull, "PendingHandshakeTimeoutWhenFull must be positive.");
        }

        if (o.MaxHandshakeReassemblyBytes is < 4096 or > 0xFFFFFF)
        {
            throw SettingErrors.OutOfRange(nameof(o.MaxHandshakeReassemblyBytes), o.MaxHandshakeReassemblyBytes, "MaxHandshakeReassemblyBytes must be between 4096 and 16777215 bytes.");
        }

        if (o.MaxQueuedBytes < 65_536)
        {
            throw SettingErrors.OutOfRange(nameof(o.MaxQueuedBytes), o.MaxQueuedBytes, "MaxQueuedBytes must be at least 65536 bytes.");
        }

        if (o.CookieLifetime < TimeSpan.FromSeconds(1) || o.CookieLifetime > TimeSpan.FromMinutes(10))
        {
            throw SettingErrors.OutOfRange(nameof(o.CookieLifetime), o.CookieLifetime, "CookieLifetime must be between 1 second and 10 minutes.");
        }

        if (o.IdleTimeout <= TimeSpan.Zero && o.IdleTimeout != Timeout.InfiniteTimeSpan)
        {
            throw SettingErrors.OutOfRange(nameof(o.IdleTimeout), o.IdleTimeout, "IdleTimeout must be positive, or Timeout.InfiniteTimeSpan to keep idle sessions.");
        }

        if (o.MaxQueuedDatagramsPerSession < 1)
        {
            throw SettingErrors.OutOfRange(nameof(o.MaxQueuedDatagramsPerSession), o.MaxQueuedDatagramsPerSession, "MaxQueuedDatagramsPerSession must be at least 1.");
        }

        if (o.MaxDatagramSize is < 256 or > 65_535)
        {
            throw SettingErrors.OutOfRange(nameof(o.MaxDatagramSize), o.MaxDatagramSize, "MaxDatagramSize must be between 256 and 65535 bytes.");
        }

        if (o.ReceiveLoops is < 1 or > 1024)
        {
            throw SettingErrors.OutOfRange(nameof(o.ReceiveLoops), o.ReceiveLoops, "ReceiveLoops must be between 1 and 1024.");
        }

        if (!o.CookieSecret.IsEmpty && o.CookieSecret.Length < 16)
        {
            throw SettingErrors.Invalid(nameof(o.CookieSecret), $"CookieSecret must be empty (random) or at least 16 bytes, not {o.CookieSecret.Length}.");
        }

        if (o.CookieSecretRotation <= TimeSpan.Zero)
        {
            throw SettingErrors.OutOfRange(nameof(o.CookieSecretRotation), o.CookieSecretRotation, "CookieSecretRotation must be positive.");
        }

        return local;
    }

    /// <summary>
    /// OpenSSL checks the cookie of the ClientHello that <see cref="DtlsSession.TakeVerifiedClientHello"/>
    /// hands it (in <c>DTLSv1_listen</c> and again in the handshake): the callbacks recompute the
    /// listener's HMAC for the session's peer.
    /// </summary>
    private static unsafe void EnableCookieCallbacks(DtlsContext context)
    {
        SSL_CTX_set_cookie_generate_cb(context.Handle, &NativeCallbacks.OnGenerateCookie);
        SSL_CTX_set_cookie_verify_cb(context.Handle, &NativeCallbacks.OnVerifyCookie);
    }

    /// <summary>
    /// Keeps each session's buffers as small as OpenSSL allows (issue 14 item 4): with
    /// <c>SSL_MODE_RELEASE_BUFFERS</c> a session gives its record read buffer (about 17 KB) back to
    /// the allocator whenever it is empty (ssl(7), <c>SSL_CTX_set_mode</c>; OpenSSL 3.0's DTLS keeps
    /// its write buffer), and the write buffer is sized for the largest record a session sends, which
    /// DTLS bounds by the MTU (a record never spans datagrams), instead of for 16 KiB
    /// (<c>SSL_CTX_set_max_send_fragment</c>, 512 to 16,384).
    /// </summary>
    private static void ReduceBuffers(DtlsContext context)
    {
        SSL_CTX_set_mode(context.Handle, SSL_MODE_RELEASE_BUFFERS);
        ErrorQueue.ThrowIfNotOne((int)SSL_CTX_set_max_send_fragment(context.Handle, Math.Clamp(context.Settings.Mtu, 512, 16_384)), "SSL_CTX_set_max_send_fragment");
    }

    internal void CountSent() => Interlocked.Increment(ref _datagramsSent);

    internal void OnSendFailed(ListenerPeer peer, SocketException e)
    {
        Interlocked.Increment(ref _sendErrors);
        ListenerLog.SendFailed(_logger, peer.RemoteEndPoint, e);
    }
}
