using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Logging;

namespace OpenSsl.Dtls;

/// <summary>
/// Settings of a <see cref="DtlsListener"/>: where it listens, the server's DTLS settings, and the
/// limits that keep it serving under load and under attack. Every limit has a safe default; over a
/// limit, new work is refused and counted (<see cref="DtlsListener.Statistics"/>) while everything
/// already running carries on. Plain mutable properties (configuration binding can fill a
/// <c>new DtlsListenerOptions()</c>); <see cref="DtlsListener.Listen"/> copies them, and
/// <see cref="ServerOptions"/>, when it starts, so changing this object afterwards changes nothing
/// for that listener (the rule of <c>QuicListenerOptions</c>).
/// </summary>
public sealed partial class DtlsListenerOptions
{
    /// <summary>
    /// The local address and port (an <see cref="IPEndPoint"/>; port 0 picks a free one). An
    /// <see cref="IPAddress.IPv6Any"/> address makes a dual-mode socket that also accepts IPv4 peers.
    /// Required: <see cref="DtlsListener.Listen"/> throws an <see cref="ArgumentException"/> naming it when unset.
    /// </summary>
    public EndPoint LocalEndPoint { get; set; } = null!;

    /// <summary>
    /// The server's DTLS settings. The listener makes its own <see cref="DtlsContext"/> from them and owns it.
    /// Required: <see cref="DtlsListener.Listen"/> throws an <see cref="ArgumentException"/> naming it when unset.
    /// </summary>
    public DtlsServerOptions ServerOptions { get; set; } = null!;

    /// <summary>
    /// The most associations (established sessions and handshakes in progress) the listener keeps.
    /// A peer with a valid cookie beyond it is refused (no reply; it retries). Default 10,000.
    /// </summary>
    public int MaxSessions { get; set; } = 10_000;

    /// <summary>
    /// The most handshakes in progress at once. They cost the most (key exchange, signatures), so the
    /// bound keeps a burst of new clients from starving established sessions. Default 1,000.
    /// A peer that stalls after the cookie exchange is dropped at <see cref="DtlsOptions.HandshakeTimeout"/>.
    /// </summary>
    public int MaxPendingHandshakes { get; set; } = 1_000;

    /// <summary>
    /// The most handshakes in progress from one IP address (any port). A storm of half-open handshakes
    /// from one address fills only this share of <see cref="MaxPendingHandshakes"/>; beyond it the
    /// address's new handshakes are refused (no reply; counted in
    /// <see cref="DtlsListenerStatistics.RefusedOverSourceLimit"/>) while other peers connect. Clients
    /// behind one NAT address share it. Default 32.
    /// </summary>
    public int MaxPendingHandshakesPerAddress { get; set; } = 32;

    /// <summary>
    /// The most handshakes in progress from one network: an IPv4 /24 or an IPv6 /56 (the usual
    /// allocation to one site, RFC 6177), so that an attacker with a block of addresses also gets one
    /// share. At least <see cref="MaxPendingHandshakesPerAddress"/>. Default 256.
    /// </summary>
    public int MaxPendingHandshakesPerPrefix { get; set; } = 256;

    /// <summary>
    /// The half-open timeout under pressure: when <see cref="MaxPendingHandshakes"/> handshakes are
    /// pending, a new verified ClientHello evicts the oldest one if it has been pending this long
    /// (counted in <see cref="DtlsListenerStatistics.HandshakesEvicted"/>), instead of being refused
    /// until <see cref="DtlsOptions.HandshakeTimeout"/> frees a place (a longer value than that has no
    /// effect). Default 5 seconds (a handshake with two lost flights).
    /// </summary>
    public TimeSpan PendingHandshakeTimeoutWhenFull { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The most <see cref="DtlsServerOptions.PskKeyLookupAsync"/> lookups in flight at once, over all
    /// sessions: each one holds its client's ClientKeyExchange (at most 32 KiB of datagrams) until it
    /// completes. A handshake whose lookup would exceed it is refused at once with a fatal
    /// internal_error alert (not unknown_psk_identity: its identity may be valid), counted in
    /// <see cref="DtlsListenerStatistics.RefusedOverPskLookupLimit"/> and logged as a refused handshake
    /// that names this setting; the client may retry. A place belongs to the handshake: it is given
    /// back when the lookup returns or when the handshake ends first (timed out, failed, disposed),
    /// even if the lookup ignores its cancellation and never returns; such lookups are counted in
    /// <see cref="DtlsListenerStatistics.PskLookupsAbandoned"/> and logged as a Warning. At least 1; default 64. Unused without
    /// <see cref="DtlsServerOptions.PskKeyLookupAsync"/>.
    /// </summary>
    public int MaxPendingPskLookups { get; set; } = 64;

    /// <summary>
    /// The handshake message bytes one pending handshake may make OpenSSL hold for reassembly: the sum
    /// of the lengths its handshake messages announce (ClientHello, Certificate chain,
    /// ClientKeyExchange, CertificateVerify; RFC 6347 §4.2.3), at most eight messages. Fragments beyond
    /// it are dropped and counted (<see cref="DtlsListenerStatistics.DroppedOverReassemblyLimit"/>);
    /// the handshake then times out. The pending handshakes together hold at most
    /// <see cref="MaxPendingHandshakes"/> times this. At least 4,096; default 65,536 (OpenSSL alone
    /// would accept 100 KB per message and eleven messages).
    /// </summary>
    public int MaxHandshakeReassemblyBytes { get; set; } = 65_536;

    /// <summary>
    /// An established session that receives nothing for this long is closed (close_notify sent, its
    /// readers see a <see cref="TimeoutException"/>) and freed. <see cref="Timeout.InfiniteTimeSpan"/>
    /// turns reaping off. Default 5 minutes.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Received plaintext datagrams each session queues for its reader before it drops new ones
    /// (counted in <see cref="DtlsSession.DroppedDatagrams"/> and the statistics). Overrides
    /// <see cref="DtlsOptions.ReceiveQueueCapacity"/> for the listener's sessions. Default 256.
    /// </summary>
    public int MaxQueuedDatagramsPerSession { get; set; } = 256;

    /// <summary>
    /// The bytes of received plaintext all sessions together may hold in their receive queues, counted
    /// as the pooled buffers that hold them (a datagram of n bytes takes the next power of two, at
    /// least 16). Over it a new datagram is dropped and counted
    /// (<see cref="DtlsListenerStatistics.DroppedOverMemoryBudget"/> and the session's
    /// <see cref="DtlsSession.DroppedDatagrams"/>) until readers catch up. Once half of it is in use,
    /// a session may hold at most half of it divided by the number of sessions holding data, so
    /// sessions whose applications stopped reading cannot starve the others. At least 65,536;
    /// default 64 MiB.
    /// </summary>
    public long MaxQueuedBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// The largest datagram accepted, in bytes of UDP payload; larger ones are dropped and counted.
    /// It sizes each receive loop's buffer. Between 256 and 65,535; default 65,507 (the IPv4 maximum).
    /// </summary>
    public int MaxDatagramSize { get; set; } = 65_507;

    /// <summary>
    /// Receive loops, to use more cores; each runs on a thread of its own (which also keeps the
    /// native memory of the sessions it drives in one allocator arena). Above 1, on Linux, that many
    /// sockets are bound to the same port with <c>SO_REUSEPORT</c> and the kernel spreads peers over
    /// them by hashing the address 4-tuple (so one peer always reaches the same socket); elsewhere,
    /// that many loops share one socket. Default 1.
    /// </summary>
    public int ReceiveLoops { get; set; } = 1;

    /// <summary>
    /// The secret the HelloVerifyRequest cookies are derived from: at least 16 bytes, the same on every
    /// server of a fleet behind a UDP load balancer so that any of them verifies any cookie (their
    /// clocks must agree to well within <see cref="CookieSecretRotation"/>). Empty (the default): a
    /// random secret for this listener. Replace it on a running listener with
    /// <see cref="DtlsListener.UpdateCookieSecret"/> (docs/deployment.md).
    /// </summary>
    public ReadOnlyMemory<byte> CookieSecret { get; set; }

    /// <summary>
    /// How often the cookie key changes. A cookie verifies under the current and the previous key,
    /// so it is accepted for between one and two periods, and never longer than
    /// <see cref="CookieLifetime"/>. Default 5 minutes.
    /// </summary>
    public TimeSpan CookieSecretRotation { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a HelloVerifyRequest cookie stays valid (it carries its issue time). A cookie binds the
    /// peer's address and port and the ClientHello's version and random (RFC 6347 §4.2.1),
    /// so it cannot be replayed with a new random; the short lifetime bounds replays of a whole
    /// ClientHello. A client whose cookie expired gets a new HelloVerifyRequest and carries on. It is
    /// also bounded by the rotation (current or previous key). Between 1 second and 10 minutes;
    /// default 30 seconds.
    /// </summary>
    public TimeSpan CookieLifetime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Creates the listener's logger (category <c>OpenSsl.Dtls.DtlsListener</c>: start, stop,
    /// handshakes, refusals, reaping, errors) and those of its context and sessions (see
    /// <see cref="DtlsOptions.LoggerFactory"/>). Null (the default) uses
    /// <see cref="ServerOptions"/>' <see cref="DtlsOptions.LoggerFactory"/>; if that is null too,
    /// nothing is logged. Read once, when the listener starts.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Creates the <c>OpenSsl.Dtls</c> meter (<see cref="DtlsMetrics.MeterName"/>) the listener and its
    /// sessions record into. Null (the default) uses <see cref="ServerOptions"/>'
    /// <see cref="DtlsOptions.MeterFactory"/>; if that is null too, the process-wide meter made
    /// without a factory. Read once, when the listener starts.
    /// </summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>
    /// The clock and timers of the listener and its sessions: <see cref="IdleTimeout"/>,
    /// <see cref="PendingHandshakeTimeoutWhenFull"/>, <see cref="DtlsOptions.HandshakeTimeout"/>, the
    /// cookie issue times, <see cref="CookieLifetime"/> and <see cref="CookieSecretRotation"/>, the
    /// refusal log's rate limit, and handshake durations. Null (the default) uses
    /// <see cref="ServerOptions"/>' <see cref="DtlsOptions.TimeProvider"/> (itself
    /// <see cref="TimeProvider.System"/> by default). OpenSSL's own retransmission deadline stays on
    /// the wall clock (see <see cref="DtlsOptions.TimeProvider"/>). Read once, when the listener starts.
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }
}
