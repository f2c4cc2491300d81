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
    /// <exception cref="ArgumentException">An option is invalid (see <see cref="DtlsContext(DtlsClientOptions)"/>).</exception>
    /// <exception cref="DtlsAuthenticationException">The server's certificate was rejected; the exception says which check failed.</exception>
    /// <exception cref="DtlsException">The handshake failed.</exception>
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
    /// </summary>
    /// <exception cref="DtlsAuthenticationException">The server's certificate was rejected; the exception says which check failed.</exception>
    /// <exception cref="DtlsException">The handshake failed.</exception>
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

        Socket socket = new(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        DtlsSession? session = null;
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            session = new DtlsSession(context, new ConnectedSocketDriver(socket, ownsSocket: true), ownsTransport: true);
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
