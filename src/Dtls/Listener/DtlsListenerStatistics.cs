namespace OpenSsl.Dtls;

/// <summary>
/// A snapshot of a <see cref="DtlsListener"/>'s counters (<see cref="DtlsListener.Statistics"/>).
/// Totals count from the listener's start. The same events are published as metrics on the
/// <c>System.Diagnostics.Metrics</c> meter named "OpenSsl.Dtls".
/// </summary>
public sealed record DtlsListenerStatistics
{
    /// <summary>Established sessions the listener is serving now (accepted or waiting in the accept queue).</summary>
    public int ActiveSessions { get; init; }

    /// <summary>Handshakes in progress now (cookie verified, not yet finished).</summary>
    public int PendingHandshakes { get; init; }

    /// <summary>Datagrams received on the listener's sockets.</summary>
    public long DatagramsReceived { get; init; }

    /// <summary>Datagrams sent: HelloVerifyRequests and every session's records.</summary>
    public long DatagramsSent { get; init; }

    /// <summary>Handshakes started: ClientHellos with a valid cookie that got a session.</summary>
    public long HandshakesStarted { get; init; }

    /// <summary>Handshakes that completed.</summary>
    public long HandshakesCompleted { get; init; }

    /// <summary>Handshakes that failed, timed out or were abandoned (including <see cref="HandshakesTimedOut"/>).</summary>
    public long HandshakesFailed { get; init; }

    /// <summary>Handshakes that did not complete within <see cref="DtlsOptions.HandshakeTimeout"/>.</summary>
    public long HandshakesTimedOut { get; init; }

    /// <summary>HelloVerifyRequests sent (to ClientHellos without a cookie or with an invalid one).</summary>
    public long CookiesSent { get; init; }

    /// <summary>ClientHellos whose cookie verified.</summary>
    public long CookiesVerified { get; init; }

    /// <summary>ClientHellos whose cookie did not verify: forged, expired, or made for another address or port.</summary>
    public long CookiesRejected { get; init; }

    /// <summary>Verified ClientHellos refused because <see cref="DtlsListenerOptions.MaxSessions"/> was reached.</summary>
    public long RefusedOverSessionLimit { get; init; }

    /// <summary>Verified ClientHellos refused because <see cref="DtlsListenerOptions.MaxPendingHandshakes"/> was reached and no pending handshake was old enough to evict.</summary>
    public long RefusedOverPendingLimit { get; init; }

    /// <summary>Verified ClientHellos refused because their address or network already had <see cref="DtlsListenerOptions.MaxPendingHandshakesPerAddress"/> or <see cref="DtlsListenerOptions.MaxPendingHandshakesPerPrefix"/> handshakes pending.</summary>
    public long RefusedOverSourceLimit { get; init; }

    /// <summary>Pending handshakes evicted to make room when the table was full (the oldest, once pending for <see cref="DtlsListenerOptions.PendingHandshakeTimeoutWhenFull"/>); also counted in <see cref="HandshakesFailed"/>.</summary>
    public long HandshakesEvicted { get; init; }

    /// <summary>Datagrams dropped because they were not DTLS, or were truncated or inconsistent.</summary>
    public long DroppedMalformed { get; init; }

    /// <summary>Datagrams from unknown peers that were not a ClientHello.</summary>
    public long DroppedNotClientHello { get; init; }

    /// <summary>
    /// ClientHello fragments from which no cookie can be read: a later fragment from a peer without a
    /// session yet (the client retransmits its flight after the cookie exchange), or a first fragment
    /// too short to hold the cookie.
    /// </summary>
    public long DroppedUnverifiedFragments { get; init; }

    /// <summary>Handshake datagrams of pending handshakes dropped by <see cref="DtlsListenerOptions.MaxHandshakeReassemblyBytes"/> (or announcing inconsistent message lengths).</summary>
    public long DroppedOverReassemblyLimit { get; init; }

    /// <summary>Plaintext datagrams dropped because the listener's sessions together held <see cref="DtlsListenerOptions.MaxQueuedBytes"/>.</summary>
    public long DroppedOverMemoryBudget { get; init; }

    /// <summary>Handshake message bytes the pending handshakes have announced now: what OpenSSL may hold for their reassembly.</summary>
    public long ReassemblyBytes { get; init; }

    /// <summary>Bytes of received plaintext the sessions' receive queues hold now (pooled buffer sizes), within <see cref="DtlsListenerOptions.MaxQueuedBytes"/>.</summary>
    public long QueuedBytes { get; init; }

    /// <summary>Datagrams larger than <see cref="DtlsListenerOptions.MaxDatagramSize"/>.</summary>
    public long DroppedTooLarge { get; init; }

    /// <summary>Plaintext datagrams dropped because a session's receive queue was full (<see cref="DtlsListenerOptions.MaxQueuedDatagramsPerSession"/>).</summary>
    public long DroppedQueueFull { get; init; }

    /// <summary>Established sessions closed by <see cref="DtlsListenerOptions.IdleTimeout"/>.</summary>
    public long IdleSessionsReaped { get; init; }

    /// <summary>Associations replaced by a restarted client on the same address and port (RFC 6347 §4.2.8).</summary>
    public long SessionsReplaced { get; init; }

    /// <summary>Handshake flights the listener's sessions retransmitted.</summary>
    public long Retransmissions { get; init; }

    /// <summary>
    /// <see cref="DtlsServerOptions.PskKeyLookupAsync"/> lookups running now for a handshake still in
    /// progress (each holds its client's ClientKeyExchange), within <see cref="DtlsListenerOptions.MaxPendingPskLookups"/>.
    /// A lookup whose handshake ended (timed out, failed, disposed) no longer counts here, even if it is still running.
    /// </summary>
    public int PskLookupsInFlight { get; init; }

    /// <summary>
    /// <see cref="DtlsServerOptions.PskKeyLookupAsync"/> lookups that were still running 1 second after
    /// their handshake ended and cancelled their token: lookups that ignore cancellation (each one is
    /// also logged as a Warning, at most one line a second). They no longer hold a
    /// <see cref="DtlsListenerOptions.MaxPendingPskLookups"/> place, but still hold whatever the
    /// application's store holds: fix the store so that it honours its <see cref="CancellationToken"/>.
    /// </summary>
    public long PskLookupsAbandoned { get; init; }

    /// <summary>Handshakes refused with an internal_error alert because <see cref="DtlsListenerOptions.MaxPendingPskLookups"/> key lookups were already in flight; also counted in <see cref="HandshakesFailed"/>.</summary>
    public long RefusedOverPskLookupLimit { get; init; }

    /// <summary>Sends that failed on the socket (the datagram is lost; DTLS retransmits handshake flights).</summary>
    public long SendErrors { get; init; }
}
