using System.Net;
using System.Net.Sockets;

namespace OpenSsl.Dtls;

/// <summary>The one-call client: a UDP socket connected to the server, a session on it, the handshake.</summary>
public static class DtlsClient
{
    /// <summary>
    /// Connects to <paramref name="endpoint"/> with a new context made from <paramref name="options"/>.
    /// Disposing the returned session closes its socket and context.
    /// </summary>
    /// <param name="endpoint">An <see cref="IPEndPoint"/>, or a <see cref="DnsEndPoint"/> that is resolved and tried address by address (see <see cref="ConnectAsync(EndPoint, DtlsContext, CancellationToken)"/>).</param>
    /// <param name="options">The client's settings.</param>
    /// <param name="cancellationToken">Cancels the resolution and the handshake.</param>
    /// <exception cref="ArgumentException">An option is invalid (see <see cref="DtlsContext(DtlsClientOptions)"/>), or the endpoint is neither an IP nor a DNS endpoint.</exception>
    /// <exception cref="DtlsAuthenticationException">The server's certificate was rejected; the exception says which check failed.</exception>
    /// <exception cref="DtlsException">The handshake failed.</exception>
    /// <exception cref="SocketException">The host name could not be resolved.</exception>
    /// <exception cref="TimeoutException">The server did not answer within <see cref="DtlsOptions.HandshakeTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; everything was freed.</exception>
    public static async Task<DtlsSession> ConnectAsync(EndPoint endpoint, DtlsClientOptions options, CancellationToken cancellationToken = default)
    {
        var context = new DtlsContext(options);
        try
        {
            DtlsSession session = await ConnectAsync(endpoint, context, cancellationToken).ConfigureAwait(false);
            session.OwnContext();
            return session;
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Connects to <paramref name="endpoint"/> with an existing client context (reuse one context for
    /// many connections: it holds the resumption cache). Disposing the returned session closes its socket.
    /// A <see cref="DnsEndPoint"/> is resolved (<see cref="Dns.GetHostAddressesAsync(string, AddressFamily, CancellationToken)"/>,
    /// limited to its <see cref="EndPoint.AddressFamily"/> when that is not Unspecified) and a handshake is
    /// started with every address at once, like <c>QuicConnection</c> tries each address; the first
    /// that completes wins and the others are abandoned. UDP gives no reliable "refused" signal
    /// (ICMP errors are ignored, RFC 6347 §4.1.2.7), so trying the addresses one after another
    /// would spend a whole <see cref="DtlsOptions.HandshakeTimeout"/> on each unreachable one. If
    /// every attempt fails, the first address's failure is thrown.
    /// </summary>
    /// <exception cref="ArgumentException">The context is a server context, or the endpoint is neither an IP nor a DNS endpoint.</exception>
    /// <exception cref="DtlsAuthenticationException">The server's certificate was rejected; the exception says which check failed.</exception>
    /// <exception cref="DtlsException">The handshake failed.</exception>
    /// <exception cref="SocketException">The host name could not be resolved.</exception>
    /// <exception cref="TimeoutException">The server did not answer within <see cref="DtlsOptions.HandshakeTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; everything was freed.</exception>
    public static async Task<DtlsSession> ConnectAsync(EndPoint endpoint, DtlsContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(context);
        if (context.IsServer)
        {
            throw new ArgumentException("DtlsClient needs a client context.", nameof(context));
        }

        Microsoft.Extensions.Logging.ILogger logger = context.Telemetry.ClientLogger;
        try
        {
            IPEndPoint[] candidates = await ResolveAsync(endpoint, cancellationToken).ConfigureAwait(false);
            SessionLog.Connecting(logger, endpoint, candidates.Length);
            return candidates.Length == 1
                ? await ConnectOneAsync(candidates[0], context, cancellationToken).ConfigureAwait(false)
                : await ConnectFirstAsync(candidates, context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (LogFailure(logger, endpoint, e))
        {
            throw; // not reached: the filter logs and declines
        }
    }

    private static bool LogFailure(Microsoft.Extensions.Logging.ILogger logger, EndPoint endpoint, Exception e)
    {
        SessionLog.ConnectFailed(logger, endpoint, e);
        return false;
    }

    /// <summary>
    /// Runs the client handshake over a datagram transport the caller drives (a WebRTC ICE socket
    /// behind an RFC 7983 demultiplexer, a tunnel, an <see cref="InMemoryDtlsTransport"/>): a session is
    /// created on <paramref name="transport"/> with <paramref name="context"/>, and the caller keeps
    /// delivering the datagrams it receives with <see cref="DtlsDatagramTransport.Deliver"/>. The returned
    /// session owns the transport; if the handshake fails, the session and the transport are disposed.
    /// </summary>
    /// <param name="transport">A transport that carries no other session.</param>
    /// <param name="context">A client context; it stays the caller's (dispose it after the session).</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    /// <exception cref="ArgumentException">The context is a server context, or it validates certificates without a <see cref="DtlsClientOptions.TargetHost"/> over a transport without an IP endpoint.</exception>
    /// <exception cref="InvalidOperationException">The transport already carries a session.</exception>
    /// <exception cref="DtlsAuthenticationException">The server's certificate was rejected; the exception says which check failed.</exception>
    /// <exception cref="DtlsException">The handshake failed, or the transport reported it closed (<see cref="DtlsDatagramTransport.ReportClosed"/>).</exception>
    /// <exception cref="TimeoutException">The server did not answer within <see cref="DtlsOptions.HandshakeTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<DtlsSession> ConnectAsync(DtlsDatagramTransport transport, DtlsContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(context);
        if (context.IsServer)
        {
            throw new ArgumentException("DtlsClient needs a client context.", nameof(context));
        }

        var session = new DtlsSession(context, transport);
        try
        {
            await session.ConnectAsync(cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<IPEndPoint[]> ResolveAsync(EndPoint endpoint, CancellationToken cancellationToken)
    {
        switch (endpoint)
        {
            case IPEndPoint ip:
                return [ip];
            case DnsEndPoint dns:
                IPAddress[] addresses = await Dns.GetHostAddressesAsync(dns.Host, dns.AddressFamily, cancellationToken).ConfigureAwait(false);
                IPEndPoint[] resolved = addresses
                    .Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                    .Select(a => new IPEndPoint(a, dns.Port))
                    .ToArray();
                return resolved.Length > 0
                    ? resolved
                    : throw new SocketException((int)SocketError.HostNotFound, $"'{dns.Host}' has no IPv4 or IPv6 address.");
            default:
                throw new ArgumentException($"DtlsClient connects to an IPEndPoint or a DnsEndPoint, not a {endpoint.GetType().Name}.", nameof(endpoint));
        }
    }

    private static async Task<DtlsSession> ConnectFirstAsync(IPEndPoint[] candidates, DtlsContext context, CancellationToken cancellationToken)
    {
        using var losers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        List<Task<DtlsSession>> attempts = candidates.Select(c => ConnectOneAsync(c, context, losers.Token)).ToList();
        var pending = new List<Task<DtlsSession>>(attempts);
        while (pending.Count > 0)
        {
            Task<DtlsSession> done = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(done);
            if (done.IsCompletedSuccessfully)
            {
                await losers.CancelAsync().ConfigureAwait(false);
                foreach (Task<DtlsSession> other in pending)
                {
                    // A loser that still completed is closed; its failure (cancellation) is expected.
                    try
                    {
                        await (await other.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is OperationCanceledException or DtlsException or TimeoutException or SocketException or ObjectDisposedException)
                    {
                    }
                }

                return done.Result;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        await attempts[0].ConfigureAwait(false); // every attempt failed: throw the first address's failure
        throw new InvalidOperationException("unreachable");
    }

    private static async Task<DtlsSession> ConnectOneAsync(IPEndPoint endpoint, DtlsContext context, CancellationToken cancellationToken)
    {
        Socket socket = new(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        DtlsSession? session = null;
        try
        {
            // A UDP connect sends nothing and never blocks (it sets the default peer, connect(2)), so
            // the synchronous call: ConnectAsync cost every connection an awaitable SocketAsyncEventArgs
            // and an async completion for no wait (docs/benchmarks.md, fixed costs per connection).
            cancellationToken.ThrowIfCancellationRequested();
            socket.Connect(endpoint);
            session = new DtlsSession(context, new ConnectedSocketDriver(socket, ownsSocket: true));
            await session.ConnectAsync(cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            if (session is not null)
            {
                await session.DisposeAsync().ConfigureAwait(false);
            }

            socket.Dispose();
            throw;
        }
    }
}
