using System.Net;
using Microsoft.Extensions.Logging;
using OpenSsl.Dtls;
using OpenSsl.Dtls.Hosting;

namespace OpenSslDtls.Samples.HostedEchoServer;

/// <summary>Echoes every datagram of a session back to its sender until the peer closes it (or the host stops).</summary>
internal sealed partial class EchoHandler(ILogger<EchoHandler> logger) : IDtlsSessionHandler
{
    // One plaintext record holds at most 16 KB (RFC 6347 §4.1, RFC 5246 §6.2.1).
    private const int MaxRecordPlaintext = 16384;

    public async Task HandleAsync(DtlsSession session, CancellationToken cancellationToken)
    {
        EndPoint? peer = session.RemoteEndPoint;
        SessionOpened(logger, peer, session.ProtocolVersion, session.CipherSuite);
        byte[] buffer = new byte[MaxRecordPlaintext];
        long datagrams = 0;
        int n;
        try
        {
            while ((n = await session.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0) // 0: close_notify
            {
                datagrams++;
                // A peer with a larger MTU may send more than one of our datagrams can carry back.
                int max = session.MaxDatagramPayload;
                for (int offset = 0; offset < n; offset += max)
                {
                    await session.SendAsync(buffer.AsMemory(offset, Math.Min(max, n - offset)), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (TimeoutException)
        {
            // Listener:IdleTimeout closed a session that sent nothing for that long: a normal end, not a failure.
            SessionIdle(logger, peer, datagrams);
            return;
        }

        SessionClosed(logger, peer, datagrams);
    }

    [LoggerMessage(1, LogLevel.Information, "session opened {Peer} {Protocol} {CipherSuite}")]
    private static partial void SessionOpened(ILogger logger, EndPoint? peer, string? protocol, string? cipherSuite);

    [LoggerMessage(2, LogLevel.Information, "session closed {Peer}: the peer sent close_notify after {Datagrams} datagrams")]
    private static partial void SessionClosed(ILogger logger, EndPoint? peer, long datagrams);

    [LoggerMessage(3, LogLevel.Information, "session closed {Peer}: idle for Listener:IdleTimeout after {Datagrams} datagrams")]
    private static partial void SessionIdle(ILogger logger, EndPoint? peer, long datagrams);
}
