using System.Net;
using Microsoft.Extensions.Logging;

namespace OpenSsl.Dtls;

/// <summary>
/// Log events of sessions (category <c>OpenSsl.Dtls.DtlsSession</c>), contexts and clients
/// (source-generated: no formatting or boxing unless the level is enabled). Event ids 200-299.
/// A session's peer is its <c>PeerName</c>: the address, or the transport's kind where it has none.
/// </summary>
internal static partial class SessionLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "DTLS {Role} handshake with {RemoteEndPoint} completed in {Milliseconds:0.0} ms ({Protocol}, {CipherSuite}, resumed {Resumed})")]
    public static partial void HandshakeCompleted(ILogger logger, string role, string remoteEndPoint, double milliseconds, string? protocol, string? cipherSuite, bool resumed);

    [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "DTLS {Role} handshake with {RemoteEndPoint} failed after {Milliseconds:0.0} ms ({ErrorType})")]
    public static partial void HandshakeFailed(ILogger logger, string role, string remoteEndPoint, double milliseconds, string errorType, Exception exception);

    [LoggerMessage(EventId = 202, Level = LogLevel.Debug, Message = "DTLS {Level} alert {Alert} ({Description}) {Direction} {RemoteEndPoint}")]
    public static partial void Alert(ILogger logger, string level, string alert, int description, string direction, string remoteEndPoint);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "The {Callback} callback of the DTLS session with {RemoteEndPoint} threw; the session fails")]
    public static partial void CallbackFailed(ILogger logger, string callback, string remoteEndPoint, Exception exception);

    [LoggerMessage(EventId = 210, Level = LogLevel.Debug, Message = "DTLS {Role} context created (protocols {Minimum} to {Maximum}; none: the newest the libssl has)")]
    public static partial void ContextCreated(ILogger logger, string role, DtlsProtocolVersion minimum, DtlsProtocolVersion? maximum);

    [LoggerMessage(EventId = 220, Level = LogLevel.Debug, Message = "DTLS client connecting to {EndPoint}: {Count} address(es) tried at once")]
    public static partial void Connecting(ILogger logger, EndPoint endPoint, int count);

    [LoggerMessage(EventId = 221, Level = LogLevel.Debug, Message = "DTLS client could not connect to {EndPoint}")]
    public static partial void ConnectFailed(ILogger logger, EndPoint endPoint, Exception exception);
}
