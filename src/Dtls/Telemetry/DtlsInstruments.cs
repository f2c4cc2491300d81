using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace OpenSsl.Dtls;

/// <summary>
/// The instruments of one <c>OpenSsl.Dtls</c> meter (names in <see cref="DtlsMetrics"/>). One set per
/// meter: contexts and listeners given the same <see cref="IMeterFactory"/> share it, and those given
/// none share <see cref="Default"/>, made without a factory as Kestrel does when none is injected.
/// Recording with no listener attached costs a branch. Thread-safe.
/// </summary>
internal sealed class DtlsInstruments
{
    public const string ReasonMalformed = "malformed";
    public const string ReasonNotClientHello = "not_client_hello";
    public const string ReasonTooLarge = "too_large";
    public const string ReasonQueueFull = "queue_full";
    public const string ReasonOverSessionLimit = "over_session_limit";
    public const string ReasonOverPendingLimit = "over_pending_limit";
    public const string ReasonSessionFailed = "session_failed";
    public const string ReasonUnverifiedFragment = "unverified_fragment";
    public const string ReasonOverReassemblyLimit = "over_reassembly_limit";
    public const string ReasonOverSourceLimit = "over_source_limit";
    public const string ReasonOverMemoryBudget = "over_memory_budget";

    public const string FailureTimeout = "timeout";
    public const string FailureCertificate = "certificate";
    public const string FailureProtocol = "protocol";
    public const string FailureAborted = "aborted";
    public const string FailureEvicted = "evicted";

    private static readonly ConditionalWeakTable<Meter, DtlsInstruments> ByMeter = new();

    private static readonly string? Version = typeof(DtlsInstruments).Assembly.GetName().Version?.ToString();

#pragma warning disable CA2000 // The default meter lives as long as the process, like the instruments it hands out.
    private static readonly Lazy<DtlsInstruments> DefaultInstruments = new(() => new DtlsInstruments(new Meter(DtlsMetrics.MeterName, Version)));
#pragma warning restore CA2000

    private DtlsInstruments(Meter meter)
    {
        ClientHandshakeDuration = meter.CreateHistogram<double>(DtlsMetrics.ClientHandshakeDuration, "s", "Duration of client DTLS handshakes.", advice: DurationAdvice);
        ServerHandshakeDuration = meter.CreateHistogram<double>(DtlsMetrics.ServerHandshakeDuration, "s", "Duration of server DTLS handshakes.", advice: DurationAdvice);
        ClientActiveHandshakes = meter.CreateUpDownCounter<long>(DtlsMetrics.ClientActiveHandshakes, "{handshake}", "Client DTLS handshakes in progress.");
        ServerActiveHandshakes = meter.CreateUpDownCounter<long>(DtlsMetrics.ServerActiveHandshakes, "{handshake}", "Server DTLS handshakes in progress.");
        ClientActiveSessions = meter.CreateUpDownCounter<long>(DtlsMetrics.ClientActiveSessions, "{session}", "Established client DTLS sessions not yet disposed.");
        ServerActiveSessions = meter.CreateUpDownCounter<long>(DtlsMetrics.ServerActiveSessions, "{session}", "Established server DTLS sessions not yet disposed.");
        ClientRetransmissions = meter.CreateCounter<long>(DtlsMetrics.ClientRetransmissions, "{flight}", "Handshake flights clients retransmitted.");
        ServerRetransmissions = meter.CreateCounter<long>(DtlsMetrics.ServerRetransmissions, "{flight}", "Handshake flights servers retransmitted.");
        DroppedDatagrams = meter.CreateCounter<long>(DtlsMetrics.ServerDroppedDatagrams, "{datagram}", "Datagrams a DTLS listener dropped, by error.type.");
        RefusedHandshakes = meter.CreateCounter<long>(DtlsMetrics.ServerRefusedHandshakes, "{handshake}", "Verified ClientHellos a DTLS listener refused over a limit, by error.type.");
        CookiesSent = meter.CreateCounter<long>(DtlsMetrics.ServerCookiesSent, "{cookie}", "HelloVerifyRequests sent.");
        CookiesVerified = meter.CreateCounter<long>(DtlsMetrics.ServerCookiesVerified, "{cookie}", "ClientHello cookies that verified.");
        CookiesRejected = meter.CreateCounter<long>(DtlsMetrics.ServerCookiesRejected, "{cookie}", "ClientHello cookies that did not verify (forged, expired, other address).");
        ClosedSessions = meter.CreateCounter<long>(DtlsMetrics.ServerClosedSessions, "{session}", "Sessions a DTLS listener closed itself, by dtls.close.reason (idle, replaced).");
        ReassemblyBytes = meter.CreateUpDownCounter<long>(DtlsMetrics.ServerReassemblyBytes, "By", "Handshake message bytes pending handshakes announced.");
        QueuedBytes = meter.CreateUpDownCounter<long>(DtlsMetrics.ServerQueuedBytes, "By", "Received plaintext held in listener sessions' receive queues.");
    }

    /// <summary>The instruments of the process-wide meter made without a factory.</summary>
    public static DtlsInstruments Default => DefaultInstruments.Value;

    // Handshakes take milliseconds on loopback and up to HandshakeTimeout (30 s) over lossy links.
    private static InstrumentAdvice<double> DurationAdvice { get; } = new() { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] };

    public Histogram<double> ClientHandshakeDuration { get; }

    public Histogram<double> ServerHandshakeDuration { get; }

    public UpDownCounter<long> ClientActiveHandshakes { get; }

    public UpDownCounter<long> ServerActiveHandshakes { get; }

    public UpDownCounter<long> ClientActiveSessions { get; }

    public UpDownCounter<long> ServerActiveSessions { get; }

    public Counter<long> ClientRetransmissions { get; }

    public Counter<long> ServerRetransmissions { get; }

    public Counter<long> DroppedDatagrams { get; }

    public Counter<long> RefusedHandshakes { get; }

    public Counter<long> CookiesSent { get; }

    public Counter<long> CookiesVerified { get; }

    public Counter<long> CookiesRejected { get; }

    public Counter<long> ClosedSessions { get; }

    public UpDownCounter<long> ReassemblyBytes { get; }

    public UpDownCounter<long> QueuedBytes { get; }

    /// <summary>
    /// The instruments of <paramref name="factory"/>'s <c>OpenSsl.Dtls</c> meter, or <see cref="Default"/>.
    /// The factory owns the meter (and disposes it with the host); a factory hands out one meter per
    /// name and version, so its instruments are made once.
    /// </summary>
    public static DtlsInstruments For(IMeterFactory? factory)
    {
        if (factory is null)
        {
            return Default;
        }

        Meter meter = factory.Create(new MeterOptions(DtlsMetrics.MeterName) { Version = Version });
        return ByMeter.GetValue(meter, m => new DtlsInstruments(m));
    }

    /// <summary>Adds <paramref name="count"/> to a counter with one <c>error.type</c> attribute after the common ones.</summary>
    public static void AddWithErrorType(Counter<long> counter, long count, in TagList common, string errorType)
    {
        TagList tags = common;
        tags.Add("error.type", errorType);
        counter.Add(count, tags);
    }
}
