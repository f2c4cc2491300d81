using System.Net;
using Microsoft.Extensions.Logging;

namespace OpenSsl.Dtls;

/// <summary>
/// The listener's log events (source-generated <see cref="LoggerMessageAttribute"/> methods: no
/// formatting or boxing unless the level is enabled). Per-datagram events are Trace and carry no
/// address, so that a flood costs nothing when they are off.
/// </summary>
internal static partial class ListenerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "DTLS listener started on {LocalEndPoint} with {Sockets} socket(s) and {Loops} receive loop(s)")]
    public static partial void Started(ILogger logger, EndPoint localEndPoint, int sockets, int loops);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "DTLS listener on {LocalEndPoint} stopped; {Sessions} live session(s) closed")]
    public static partial void Stopped(ILogger logger, EndPoint localEndPoint, int sessions);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "DTLS listener on {LocalEndPoint} uses new server options for new handshakes; live sessions keep theirs")]
    public static partial void ServerOptionsUpdated(ILogger logger, EndPoint localEndPoint);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "DTLS handshake with {RemoteEndPoint} completed in {Milliseconds:0.0} ms ({Protocol}, {CipherSuite})")]
    public static partial void HandshakeCompleted(ILogger logger, EndPoint remoteEndPoint, double milliseconds, string? protocol, string? cipherSuite);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "DTLS handshake with {RemoteEndPoint} failed ({Reason})")]
    public static partial void HandshakeFailed(ILogger logger, EndPoint remoteEndPoint, string reason, Exception exception);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information, Message = "DTLS handshake with {RemoteEndPoint} refused: {Reason} ({Suppressed} similar lines held back since the last one)")]
    public static partial void HandshakeRefused(ILogger logger, EndPoint remoteEndPoint, string reason, long suppressed);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "DTLS peer {RemoteEndPoint} restarted (a new ClientHello with a valid cookie): its old association is replaced (RFC 6347 4.2.8)")]
    public static partial void PeerRestarted(ILogger logger, EndPoint remoteEndPoint);

    [LoggerMessage(EventId = 13, Level = LogLevel.Debug, Message = "DTLS session with {RemoteEndPoint} closed after {Seconds:0.#} s without traffic (IdleTimeout)")]
    public static partial void IdleSessionReaped(ILogger logger, EndPoint remoteEndPoint, double seconds);

    [LoggerMessage(EventId = 20, Level = LogLevel.Debug, Message = "DTLS listener refused a new peer: {Limit} ({Value}) reached")]
    public static partial void Refused(ILogger logger, string limit, int value);

    [LoggerMessage(EventId = 21, Level = LogLevel.Trace, Message = "DTLS listener dropped a datagram ({Reason})")]
    public static partial void Dropped(ILogger logger, string reason);

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "The PskKeyLookupAsync lookup for {Peer} was still running {Seconds:0.#} s after its handshake ended and cancelled it: it ignores its CancellationToken. Its MaxPendingPskLookups place was given back; {Total} such lookup(s) so far (DtlsListenerStatistics.PskLookupsAbandoned)")]
    public static partial void PskLookupAbandoned(ILogger logger, string peer, double seconds, long total);

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "DTLS listener receive on {LocalEndPoint} failed; the loop goes on")]
    public static partial void ReceiveFailed(ILogger logger, EndPoint? localEndPoint, Exception exception);

    [LoggerMessage(EventId = 31, Level = LogLevel.Debug, Message = "DTLS listener send to {RemoteEndPoint} failed; the datagram is lost")]
    public static partial void SendFailed(ILogger logger, EndPoint remoteEndPoint, Exception exception);

    [LoggerMessage(EventId = 32, Level = LogLevel.Error, Message = "DTLS listener failed to process a datagram; the loop goes on")]
    public static partial void ProcessingFailed(ILogger logger, Exception exception);
}
