using System.Diagnostics.Metrics;

namespace OpenSsl.Dtls;

/// <summary>
/// The names of the <c>OpenSsl.Dtls</c> meter and its instruments (System.Diagnostics.Metrics), for
/// <c>dotnet-counters monitor --counters OpenSsl.Dtls</c>, OpenTelemetry's <c>AddMeter</c> or a
/// <see cref="MeterListener"/>. Names and attributes follow OpenTelemetry's semantic conventions
/// where they exist: <c>error.type</c> on failures, <c>tls.protocol.version</c> ("1.2", "1.3") on
/// completed handshakes, <c>server.address</c> and <c>server.port</c> (on a client the server it
/// connects to, on a server its own local endpoint), <c>network.transport</c> ("udp") and
/// <c>network.type</c> ("ipv4", "ipv6"). Durations are in seconds. Where the meter comes from:
/// <see cref="DtlsOptions.MeterFactory"/> and <see cref="DtlsListenerOptions.MeterFactory"/>.
/// The README's "Metrics, traces and logs" lists every instrument.
/// </summary>
public static class DtlsMetrics
{
    /// <summary>The meter's name, "OpenSsl.Dtls".</summary>
    public const string MeterName = "OpenSsl.Dtls";

    /// <summary>Histogram, seconds: client handshakes from the first ClientHello to completion or failure (<c>error.type</c> set on failure).</summary>
    public const string ClientHandshakeDuration = "dtls.client.handshake.duration";

    /// <summary>Histogram, seconds: server handshakes from the verified ClientHello to completion or failure (<c>error.type</c> set on failure).</summary>
    public const string ServerHandshakeDuration = "dtls.server.handshake.duration";

    /// <summary>UpDownCounter, {handshake}: client handshakes in progress.</summary>
    public const string ClientActiveHandshakes = "dtls.client.active_handshakes";

    /// <summary>UpDownCounter, {handshake}: server handshakes in progress.</summary>
    public const string ServerActiveHandshakes = "dtls.server.active_handshakes";

    /// <summary>UpDownCounter, {session}: client sessions whose handshake completed and that are not yet disposed.</summary>
    public const string ClientActiveSessions = "dtls.client.active_sessions";

    /// <summary>UpDownCounter, {session}: server sessions whose handshake completed and that are not yet disposed.</summary>
    public const string ServerActiveSessions = "dtls.server.active_sessions";

    /// <summary>Counter, {flight}: handshake flights a client retransmitted (RFC 6347 §4.2.4).</summary>
    public const string ClientRetransmissions = "dtls.client.retransmissions";

    /// <summary>Counter, {flight}: handshake flights a server retransmitted (RFC 6347 §4.2.4).</summary>
    public const string ServerRetransmissions = "dtls.server.retransmissions";

    /// <summary>
    /// Counter, {datagram}: datagrams a <see cref="DtlsListener"/> dropped; <c>error.type</c> says why:
    /// malformed, not_client_hello, unverified_fragment, too_large, queue_full, over_memory_budget,
    /// over_reassembly_limit, session_failed.
    /// </summary>
    public const string ServerDroppedDatagrams = "dtls.server.dropped_datagrams";

    /// <summary>
    /// Counter, {handshake}: verified ClientHellos a <see cref="DtlsListener"/> refused over a limit;
    /// <c>error.type</c>: over_session_limit, over_pending_limit, over_source_limit.
    /// </summary>
    public const string ServerRefusedHandshakes = "dtls.server.refused_handshakes";

    /// <summary>Counter, {cookie}: HelloVerifyRequests a <see cref="DtlsListener"/> sent.</summary>
    public const string ServerCookiesSent = "dtls.server.cookies.sent";

    /// <summary>Counter, {cookie}: ClientHello cookies that verified.</summary>
    public const string ServerCookiesVerified = "dtls.server.cookies.verified";

    /// <summary>Counter, {cookie}: ClientHello cookies that did not verify (forged, expired, another address).</summary>
    public const string ServerCookiesRejected = "dtls.server.cookies.rejected";

    /// <summary>Counter, {session}: sessions a <see cref="DtlsListener"/> closed itself; <c>dtls.close.reason</c>: idle, replaced.</summary>
    public const string ServerClosedSessions = "dtls.server.closed_sessions";

    /// <summary>UpDownCounter, bytes: handshake message bytes the listener's pending handshakes announced (what OpenSSL may hold for reassembly).</summary>
    public const string ServerReassemblyBytes = "dtls.server.reassembly_bytes";

    /// <summary>UpDownCounter, bytes: received plaintext held in the listener's sessions' receive queues (pooled buffer sizes).</summary>
    public const string ServerQueuedBytes = "dtls.server.queued_bytes";
}
