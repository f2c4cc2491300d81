using System.Diagnostics;

namespace OpenSsl.Dtls;

/// <summary>
/// The <see cref="ActivitySource"/> of this library's traces: one activity per handshake, client
/// (<see cref="ActivityKind.Client"/>, a child of the caller's <see cref="Activity.Current"/>) and
/// server (<see cref="ActivityKind.Server"/>, a root: DTLS carries no trace context). It starts
/// when the handshake starts and stops when it completes or fails; a failure sets
/// <see cref="ActivityStatusCode.Error"/> and the <c>error.type</c> tag (the same values as the
/// metrics'). Tags: <c>dtls.role</c> (client, server), <c>network.transport</c> (udp),
/// <c>network.peer.address</c> and <c>network.peer.port</c>, <c>server.address</c> and
/// <c>server.port</c>, and once completed <c>tls.protocol.version</c>, <c>tls.cipher</c> (the
/// IANA name), <c>tls.resumed</c>. Subscribe with OpenTelemetry's <c>AddSource("OpenSsl.Dtls")</c>
/// or an <see cref="ActivityListener"/>; with none, starting costs a branch.
/// </summary>
public static class DtlsTracing
{
    /// <summary>The activity source's name, "OpenSsl.Dtls".</summary>
    public const string ActivitySourceName = "OpenSsl.Dtls";

    /// <summary>The name of a handshake's activity, "DTLS handshake".</summary>
    public const string HandshakeActivityName = "DTLS handshake";

    internal static ActivitySource Source { get; } = new(ActivitySourceName, typeof(DtlsTracing).Assembly.GetName().Version?.ToString());
}
