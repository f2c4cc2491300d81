using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OpenSsl.Dtls.Hosting;

/// <summary>
/// The hosted service behind <see cref="DtlsHostingServiceCollectionExtensions.AddDtlsListener(Microsoft.Extensions.DependencyInjection.IServiceCollection, string, Action{DtlsHostedListenerOptions})"/>:
/// on start it binds a <see cref="DtlsListener"/> per endpoint and hands every established session to the
/// <see cref="IDtlsSessionHandler"/>; on stop it drains: new sessions are closed at once, the running ones
/// may finish until the host's shutdown timeout (<c>HostOptions.ShutdownTimeout</c>), then the remaining
/// ones are cancelled and closed (close_notify) and the listeners disposed. The listeners log through the
/// host's <see cref="ILoggerFactory"/>, publish the <c>OpenSsl.Dtls</c> meter through its <see cref="IMeterFactory"/>
/// and use its <see cref="TimeProvider"/> if one is registered, unless <see cref="DtlsHostedListenerOptions.Listener"/>
/// sets them. One instance per listener
/// name, a keyed singleton (resolve it with <see cref="DtlsHostingServiceProviderExtensions.GetDtlsListenerService"/>).
/// Its members may be read from any thread.
/// </summary>
public sealed partial class DtlsListenerService : IHostedService, IAsyncDisposable
{
    // After the drain, how long disposed sessions' handlers get to notice and return before the service stops waiting.
    private static readonly TimeSpan HandlerExitGrace = TimeSpan.FromSeconds(5);

    private readonly IOptionsMonitor<DtlsHostedListenerOptions> _options;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggerFactory;
    private readonly IMeterFactory? _meterFactory;
    private readonly TimeProvider? _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DtlsListener[] _listeners = [];
    private Task[] _acceptLoops = [];
    private readonly CancellationTokenSource _stopRotation = new();
    private DtlsSecretFileWatcher? _secrets;
    private Task _rotation = Task.CompletedTask;
    private IDtlsSessionHandler? _handler;
    private DtlsListenerState _state;
    private int _active;
    private int _maxSessions;
    private long _served;
    private long _refusedWhileDraining;

    internal DtlsListenerService(string name, IOptionsMonitor<DtlsHostedListenerOptions> options, IServiceProvider services, ILoggerFactory loggerFactory, IMeterFactory? meterFactory, TimeProvider? timeProvider)
    {
        Name = name;
        _options = options;
        _services = services;
        _loggerFactory = loggerFactory;
        _meterFactory = meterFactory;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger<DtlsListenerService>();
    }

    /// <summary>The listener's name (<see cref="Options.DefaultName"/>, the empty string, when none was given).</summary>
    public string Name { get; }

    /// <summary>Where the service is in its life.</summary>
    public DtlsListenerState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>The running listeners, one per configured endpoint in order (their <see cref="DtlsListener.LocalEndPoint"/> has the real port); empty before start and after stop.</summary>
    public IReadOnlyList<DtlsListener> Listeners => Volatile.Read(ref _listeners);

    /// <summary>Sessions being served by the handler now.</summary>
    public int ActiveSessions => Volatile.Read(ref _active);

    /// <summary>Sessions handed to the handler since start.</summary>
    public long SessionsServed => Interlocked.Read(ref _served);

    /// <summary>Sessions that completed their handshake while the service was draining and were closed at once.</summary>
    public long SessionsRefusedWhileDraining => Interlocked.Read(ref _refusedWhileDraining);

    /// <summary><see cref="DtlsListenerOptions.MaxSessions"/> of each listener, as read at start (0 before).</summary>
    public int MaxSessionsPerListener => Volatile.Read(ref _maxSessions);

    /// <summary>
    /// Reads the options, binds every endpoint and starts serving. Called by the host.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid; the message and <see cref="ArgumentException.ParamName"/> name it (for example <c>PrivateKeyFile</c>, <c>Endpoints</c>, <c>PskKeys</c>, or <c>CookieSecretFile</c> with the file and its problem, such as mode 0644).</exception>
    /// <exception cref="InvalidOperationException">No <see cref="IDtlsSessionHandler"/> is registered for this listener, or the service was already started.</exception>
    /// <exception cref="System.Net.Sockets.SocketException">An endpoint could not be bound.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_state != DtlsListenerState.NotStarted)
            {
                throw new InvalidOperationException($"The DTLS listener service '{Name}' was already started.");
            }
        }

        try
        {
            _handler = ResolveHandler();
            DtlsHostedListenerOptions options = _options.Get(Name);
            _listeners = ListenOnEveryEndpoint(options);
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                _state = DtlsListenerState.Failed;
            }

            Log.StartFailed(_logger, Name, e.Message);
            throw;
        }

        lock (_gate)
        {
            _state = DtlsListenerState.Listening;
        }

        _acceptLoops = [.. _listeners.Select(AcceptLoopAsync)];
        _rotation = _secrets!.RunAsync(_listeners, _stopRotation.Token);
        foreach (DtlsListener listener in _listeners)
        {
            Log.Listening(_logger, Name, listener.LocalEndPoint);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Drains and stops (see the class). Returns once the listeners are disposed; never throws for a
    /// handler that does not end (it is cancelled, its session closed, and waited for at most 5 more seconds).
    /// </summary>
    /// <param name="cancellationToken">The host's shutdown deadline: cancelled when the drain must end.</param>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        int active;
        lock (_gate)
        {
            if (_state != DtlsListenerState.Listening)
            {
                return;
            }

            _state = DtlsListenerState.Draining;
            active = _active;
            if (active == 0)
            {
                _drained.TrySetResult();
            }
        }

        Log.Draining(_logger, Name, active);
        try
        {
            await _drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Log.DrainTimedOut(_logger, Name, ActiveSessions);
            await _abort.CancelAsync().ConfigureAwait(false);
        }

        // Sends close_notify to every session still open (their handlers' reads then end) and frees the sockets.
        await DisposeListenersAsync().ConfigureAwait(false);
        try
        {
            await _drained.Task.WaitAsync(HandlerExitGrace, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.HandlersStillRunning(_logger, Name, ActiveSessions);
        }

        lock (_gate)
        {
            _state = DtlsListenerState.Stopped;
        }

        Log.Stopped(_logger, Name, SessionsServed);
    }

    /// <summary>Disposes the listeners if the host did not stop the service first (a failed start).</summary>
    public async ValueTask DisposeAsync()
    {
        await DisposeListenersAsync().ConfigureAwait(false);
        _abort.Dispose();
        _stopRotation.Dispose();
    }

    private IDtlsSessionHandler ResolveHandler() =>
        _services.GetKeyedService<IDtlsSessionHandler>(Name)
        ?? (IDtlsSessionHandler?)_services.GetService(typeof(IDtlsSessionHandler))
        ?? throw new InvalidOperationException(
            $"No {nameof(IDtlsSessionHandler)} for the DTLS listener '{Name}': call UseSessionHandler on the builder AddDtlsListener returns, or register an {nameof(IDtlsSessionHandler)}.");

    private DtlsListener[] ListenOnEveryEndpoint(DtlsHostedListenerOptions options)
    {
        IPEndPoint[] endpoints = DtlsEndpoints.Parse(options.Endpoints);
        DtlsServerOptions server = options.Server ?? throw HostingErrors.Invalid(nameof(options.Server), $"{nameof(options.Server)} is required.");
        DtlsListenerOptions listenerOptions = options.Listener ?? throw HostingErrors.Invalid(nameof(options.Listener), $"{nameof(options.Listener)} is required.");
        PskKeyStore keys = PskKeyStore.Load(options);
        if (keys.Count > 0 && (server.PskKeyLookup is not null || server.PskKeyLookupAsync is not null))
        {
            throw HostingErrors.Invalid(nameof(options.PskKeys), $"{nameof(options.PskKeys)}: keys are configured ({nameof(options.PskKeys)}/{nameof(options.PskKeysFile)}) and {nameof(DtlsServerOptions.PskKeyLookup)} or {nameof(DtlsServerOptions.PskKeyLookupAsync)} is set in code; use one.");
        }

        TimeProvider clock = listenerOptions.TimeProvider ?? _timeProvider ?? TimeProvider.System;
        DtlsSecretFileWatcher secrets = LoadSecretFiles(options, server, listenerOptions, clock, out byte[]? cookieSecret, out byte[]? ticketKeys);

        var listeners = new List<DtlsListener>();
        bool ok = false;
        // Listen copies what it uses (docs/architecture.md, options are snapshotted), so the bound options
        // are lent the per-endpoint values for the call only and given back as they were.
        EndPoint previousEndPoint = listenerOptions.LocalEndPoint;
        DtlsServerOptions previousServer = listenerOptions.ServerOptions;
        ILoggerFactory? previousLoggers = listenerOptions.LoggerFactory;
        IMeterFactory? previousMeters = listenerOptions.MeterFactory;
        TimeProvider? previousTime = listenerOptions.TimeProvider;
        ReadOnlyMemory<byte> previousCookieSecret = listenerOptions.CookieSecret;
        ReadOnlyMemory<byte> previousTicketKeys = server.SessionTicketKeys;
        try
        {
            if (keys.Count > 0)
            {
                server.PskKeyLookup = keys.Lookup;
            }

            listenerOptions.ServerOptions = server;
            listenerOptions.CookieSecret = cookieSecret ?? previousCookieSecret;
            server.SessionTicketKeys = ticketKeys ?? previousTicketKeys;
            // The host's logging, metrics (the OpenSsl.Dtls meter through its IMeterFactory) and clock, unless set in code.
            listenerOptions.LoggerFactory ??= _loggerFactory;
            listenerOptions.MeterFactory ??= _meterFactory;
            listenerOptions.TimeProvider ??= _timeProvider;
            foreach (IPEndPoint endpoint in endpoints)
            {
                listenerOptions.LocalEndPoint = endpoint;
                listeners.Add(DtlsListener.Listen(listenerOptions));
            }

            Volatile.Write(ref _maxSessions, listenerOptions.MaxSessions);
            _secrets = secrets;
            ok = true;
            return [.. listeners];
        }
        finally
        {
            listenerOptions.LocalEndPoint = previousEndPoint;
            listenerOptions.ServerOptions = previousServer;
            listenerOptions.LoggerFactory = previousLoggers;
            listenerOptions.MeterFactory = previousMeters;
            listenerOptions.TimeProvider = previousTime;
            listenerOptions.CookieSecret = previousCookieSecret;
            server.SessionTicketKeys = previousTicketKeys;
            if (keys.Count > 0)
            {
                server.PskKeyLookup = null;
            }

            if (!ok)
            {
                foreach (DtlsListener listener in listeners)
                {
                    listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }
        }
    }

    /// <summary>
    /// Reads <see cref="DtlsHostedListenerOptions.CookieSecretFile"/> and <see cref="DtlsHostedListenerOptions.TicketKeysFile"/>
    /// (one format and one check for the hosting package and the samples: <see cref="DtlsSecretFile"/>) and
    /// returns the watcher that rotates them while the service runs.
    /// </summary>
    private DtlsSecretFileWatcher LoadSecretFiles(DtlsHostedListenerOptions options, DtlsServerOptions server, DtlsListenerOptions listenerOptions, TimeProvider clock, out byte[]? cookieSecret, out byte[]? ticketKeys)
    {
        var secrets = new DtlsSecretFileWatcher(_logger, clock);
        cookieSecret = null;
        ticketKeys = null;
        if (!string.IsNullOrWhiteSpace(options.CookieSecretFile))
        {
            if (!listenerOptions.CookieSecret.IsEmpty)
            {
                throw HostingErrors.Invalid(nameof(options.CookieSecretFile), $"{nameof(options.CookieSecretFile)} is configured and {nameof(options.Listener)}:{nameof(DtlsListenerOptions.CookieSecret)} is set too; use one.");
            }

            cookieSecret = secrets.Load(new DtlsSecretFile(nameof(options.CookieSecretFile), options.CookieSecretFile, DtlsSecretKind.CookieSecret));
        }

        if (!string.IsNullOrWhiteSpace(options.TicketKeysFile))
        {
            if (!server.SessionTicketKeys.IsEmpty || !server.EnableSessionTickets)
            {
                throw HostingErrors.Invalid(nameof(options.TicketKeysFile), server.EnableSessionTickets
                    ? $"{nameof(options.TicketKeysFile)} is configured and {nameof(options.Server)}:{nameof(DtlsServerOptions.SessionTicketKeys)} is set too; use one."
                    : $"{nameof(options.TicketKeysFile)} needs session tickets, and {nameof(options.Server)}:{nameof(DtlsServerOptions.EnableSessionTickets)} is false.");
            }

            ticketKeys = secrets.Load(new DtlsSecretFile(nameof(options.TicketKeysFile), options.TicketKeysFile, DtlsSecretKind.SessionTicketKeys));
        }

        return secrets;
    }

    private async Task AcceptLoopAsync(DtlsListener listener)
    {
        while (true)
        {
            DtlsSession session;
            try
            {
                session = await listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return; // the listener was disposed: stopped
            }

            bool serve;
            lock (_gate)
            {
                serve = _state == DtlsListenerState.Listening;
                if (serve)
                {
                    _active++;
                }
            }

            if (serve)
            {
                Interlocked.Increment(ref _served);
                _ = ServeAsync(session);
            }
            else
            {
                // Draining: a client that finished its handshake now is told at once (close_notify) rather than left waiting.
                Interlocked.Increment(ref _refusedWhileDraining);
                await session.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task ServeAsync(DtlsSession session)
    {
        await Task.Yield(); // off the accept loop
        try
        {
            await _handler!.HandleAsync(session, _abort.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Cancelled by the end of the drain: expected.
        }
        catch (Exception e) when (e is ObjectDisposedException or DtlsException && State != DtlsListenerState.Listening)
        {
            // The session was closed by the stop while the handler was using it.
        }
        catch (TimeoutException e)
        {
            // After the handshake the only timeout a session raises is the listener's IdleTimeout reaping it
            // (the handler's ReceiveAsync sees it): a normal end of a session, not a handler failure.
            Log.SessionTimedOut(_logger, Name, session.RemoteEndPoint, e.Message);
        }
#pragma warning disable CA1031 // A handler's failure ends its session only; it is logged, never rethrown into the accept loop.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.HandlerFailed(_logger, Name, session.RemoteEndPoint, e);
        }
        finally
        {
            await session.DisposeAsync().ConfigureAwait(false);
            lock (_gate)
            {
                _active--;
                if (_active == 0 && _state != DtlsListenerState.Listening)
                {
                    _drained.TrySetResult();
                }
            }
        }
    }

    private async Task DisposeListenersAsync()
    {
        if (!_stopRotation.IsCancellationRequested)
        {
            await _stopRotation.CancelAsync().ConfigureAwait(false);
        }

        await _rotation.ConfigureAwait(false);
        DtlsListener[] listeners = Interlocked.Exchange(ref _listeners, []);
        foreach (DtlsListener listener in listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "DTLS listener '{Name}' listening on {EndPoint}")]
        public static partial void Listening(ILogger logger, string name, IPEndPoint endPoint);

        [LoggerMessage(2, LogLevel.Error, "DTLS listener '{Name}' could not start: {Reason}")]
        public static partial void StartFailed(ILogger logger, string name, string reason);

        [LoggerMessage(3, LogLevel.Information, "DTLS listener '{Name}' draining: {Sessions} sessions may finish until the shutdown timeout; new sessions are closed")]
        public static partial void Draining(ILogger logger, string name, int sessions);

        [LoggerMessage(4, LogLevel.Warning, "DTLS listener '{Name}': the shutdown timeout ended the drain with {Sessions} sessions still served; cancelling and closing them")]
        public static partial void DrainTimedOut(ILogger logger, string name, int sessions);

        [LoggerMessage(5, LogLevel.Warning, "DTLS listener '{Name}': {Sessions} session handlers did not return after their sessions were closed")]
        public static partial void HandlersStillRunning(ILogger logger, string name, int sessions);

        [LoggerMessage(6, LogLevel.Information, "DTLS listener '{Name}' stopped after serving {Sessions} sessions")]
        public static partial void Stopped(ILogger logger, string name, long sessions);

        [LoggerMessage(7, LogLevel.Error, "DTLS listener '{Name}': the session handler failed for {Peer}")]
        public static partial void HandlerFailed(ILogger logger, string name, EndPoint? peer, Exception exception);

        [LoggerMessage(8, LogLevel.Information, "DTLS listener '{Name}': the session with {Peer} ended: {Reason}")]
        public static partial void SessionTimedOut(ILogger logger, string name, EndPoint? peer, string reason);
    }
}
