using System.Net;
using Microsoft.Extensions.Logging;

namespace OpenSslDtls.Samples.EchoServer;

/// <summary>The server's log lines: one per session opened and one per session closed.</summary>
internal static partial class EchoLog
{
    [LoggerMessage(1, LogLevel.Information, "session opened peer {Peer} version {Version} cipher {CipherSuite} alpn {Alpn} resumed {Resumed}{Identity}")]
    public static partial void SessionOpened(ILogger logger, EndPoint? peer, string? version, string? cipherSuite, string alpn, string resumed, string identity);

    [LoggerMessage(2, LogLevel.Information, "session closed peer {Peer} reason {Reason} datagrams {Datagrams}")]
    public static partial void SessionClosed(ILogger logger, EndPoint? peer, string reason, long datagrams);

    [LoggerMessage(4, LogLevel.Warning, "peer {Peer} sent a {Length}-byte datagram, more than the {Max} bytes one record carries at --mtu {Mtu}; echoing it in pieces")]
    public static partial void EchoSplit(ILogger logger, EndPoint? peer, int length, int max, int mtu);

    [LoggerMessage(5, LogLevel.Information, "stopping: close_notify to {Count} session(s)")]
    public static partial void Stopping(ILogger logger, int count);

    [LoggerMessage(6, LogLevel.Information, "stopped")]
    public static partial void Stopped(ILogger logger);

    // docs/deployment.md tells operators to watch these (DtlsListenerStatistics): a record from an unknown
    // address that is not a ClientHello (a client whose balancer session expired), idle sessions reaped, and
    // sessions replaced by a new handshake from the same address.
    [LoggerMessage(10, LogLevel.Information, "statistics cookies_sent {CookiesSent} cookies_verified {CookiesVerified} cookies_rejected {CookiesRejected} handshakes_completed {HandshakesCompleted} handshakes_failed {HandshakesFailed} dropped_not_client_hello {DroppedNotClientHello} idle_sessions_reaped {IdleSessionsReaped} sessions_replaced {SessionsReplaced}")]
    public static partial void Statistics(ILogger logger, long cookiesSent, long cookiesVerified, long cookiesRejected, long handshakesCompleted, long handshakesFailed, long droppedNotClientHello, long idleSessionsReaped, long sessionsReplaced);
}
