using System.Diagnostics.Metrics;

namespace OpenSsl.Dtls;

/// <summary>
/// The "OpenSsl.Dtls" meter (System.Diagnostics.Metrics): what every listener in the process does,
/// for dotnet-counters, OpenTelemetry or any <see cref="MeterListener"/>. Instruments are created once
/// and shared; recording with no listener attached costs a branch.
/// </summary>
internal static class DtlsMetrics
{
    /// <summary>The meter's name, for <c>dotnet-counters monitor --counters OpenSsl.Dtls</c>.</summary>
    public const string MeterName = "OpenSsl.Dtls";

    public const string ReasonMalformed = "malformed";
    public const string ReasonNotClientHello = "unknown-peer-not-clienthello";
    public const string ReasonTooLarge = "too-large";
    public const string ReasonQueueFull = "queue-full";
    public const string ReasonOverSessionLimit = "over-session-limit";
    public const string ReasonOverPendingLimit = "over-pending-limit";
    public const string ReasonSessionFailed = "session-failed";
    public const string ReasonUnverifiedFragment = "unverified-fragment";
    public const string ReasonOverReassemblyLimit = "over-reassembly-limit";
    public const string ReasonOverSourceLimit = "over-source-limit";
    public const string ReasonOverMemoryBudget = "over-memory-budget";

    public const string FailureTimeout = "timeout";
    public const string FailureCertificate = "certificate";
    public const string FailureProtocol = "protocol";
    public const string FailureAborted = "aborted";
    public const string FailureEvicted = "evicted";

#pragma warning disable CA2000 // The meter lives as long as the process, like the instruments it hands out.
    private static readonly Meter Meter = new(MeterName, typeof(DtlsMetrics).Assembly.GetName().Version?.ToString());
#pragma warning restore CA2000

    public static readonly Counter<long> HandshakesStarted = Meter.CreateCounter<long>("dtls.handshakes.started", "{handshake}", "Handshakes started after a valid cookie.");

    public static readonly Counter<long> HandshakesCompleted = Meter.CreateCounter<long>("dtls.handshakes.completed", "{handshake}", "Handshakes completed.");

    public static readonly Counter<long> HandshakesFailed = Meter.CreateCounter<long>("dtls.handshakes.failed", "{handshake}", "Handshakes that failed; tag reason: timeout, certificate, protocol, aborted, evicted.");

    public static readonly Histogram<double> HandshakeDuration = Meter.CreateHistogram<double>("dtls.handshake.duration", "s", "Time from the verified ClientHello to the completed handshake.");

    public static readonly UpDownCounter<long> ActiveSessions = Meter.CreateUpDownCounter<long>("dtls.sessions.active", "{session}", "Established sessions.");

    public static readonly UpDownCounter<long> PendingHandshakes = Meter.CreateUpDownCounter<long>("dtls.handshakes.pending", "{handshake}", "Handshakes in progress.");

    public static readonly Counter<long> DatagramsDropped = Meter.CreateCounter<long>("dtls.datagrams.dropped", "{datagram}", "Datagrams dropped; tag reason: malformed, unknown-peer-not-clienthello, unverified-fragment, too-large, queue-full, over-memory-budget, over-session-limit, over-pending-limit, over-source-limit, over-reassembly-limit, session-failed.");

    public static readonly UpDownCounter<long> ReassemblyBytes = Meter.CreateUpDownCounter<long>("dtls.handshakes.reassembly.bytes", "By", "Handshake message bytes pending handshakes have announced (what OpenSSL may hold for reassembly).");

    public static readonly UpDownCounter<long> QueuedBytes = Meter.CreateUpDownCounter<long>("dtls.sessions.queued.bytes", "By", "Received plaintext held in listener sessions' receive queues (pooled buffer sizes).");

    public static readonly Counter<long> CookiesSent = Meter.CreateCounter<long>("dtls.cookies.sent", "{cookie}", "HelloVerifyRequests sent.");

    public static readonly Counter<long> CookiesVerified = Meter.CreateCounter<long>("dtls.cookies.verified", "{cookie}", "ClientHello cookies that verified.");

    public static readonly Counter<long> CookiesRejected = Meter.CreateCounter<long>("dtls.cookies.rejected", "{cookie}", "ClientHello cookies that did not verify (forged, expired, other address).");

    public static readonly Counter<long> Retransmissions = Meter.CreateCounter<long>("dtls.retransmissions", "{flight}", "Handshake flights retransmitted by listener sessions.");

    public static readonly Counter<long> SessionsClosed = Meter.CreateCounter<long>("dtls.sessions.closed", "{session}", "Sessions the listener closed itself; tag reason: idle, replaced.");

    public static void Dropped(string reason, long count = 1) =>
        DatagramsDropped.Add(count, new KeyValuePair<string, object?>("reason", reason));
}
