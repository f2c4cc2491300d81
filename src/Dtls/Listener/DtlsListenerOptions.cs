using System.Net;
using Microsoft.Extensions.Logging;

namespace OpenSsl.Dtls;

/// <summary>
/// Settings of a <see cref="DtlsListener"/>: where it listens, the server's DTLS settings, and the
/// limits that keep it serving under load and under attack. Every limit has a safe default; over a
/// limit, new work is refused and counted (<see cref="DtlsListener.Statistics"/>) while everything
/// already running carries on.
/// </summary>
public sealed class DtlsListenerOptions
{
    /// <summary>
    /// The local address and port (an <see cref="IPEndPoint"/>; port 0 picks a free one). An
    /// <see cref="IPAddress.IPv6Any"/> address makes a dual-mode socket that also accepts IPv4 peers.
    /// </summary>
    public required EndPoint LocalEndPoint { get; init; }

    /// <summary>The server's DTLS settings. The listener makes its own <see cref="DtlsContext"/> from them and owns it.</summary>
    public required DtlsServerOptions ServerOptions { get; init; }

    /// <summary>
    /// The most associations (established sessions and handshakes in progress) the listener keeps.
    /// A peer with a valid cookie beyond it is refused (no reply; it retries). Default 10,000.
    /// </summary>
    public int MaxSessions { get; init; } = 10_000;

    /// <summary>
    /// The most handshakes in progress at once. They cost the most (key exchange, signatures), so the
    /// bound keeps a burst of new clients from starving established sessions. Default 1,000.
    /// A peer that stalls after the cookie exchange is dropped at <see cref="DtlsOptions.HandshakeTimeout"/>.
    /// </summary>
    public int MaxPendingHandshakes { get; init; } = 1_000;

    /// <summary>
    /// An established session that receives nothing for this long is closed (close_notify sent, its
    /// readers see a <see cref="TimeoutException"/>) and freed. <see cref="Timeout.InfiniteTimeSpan"/>
    /// turns reaping off. Default 5 minutes.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Received plaintext datagrams each session queues for its reader before it drops new ones
    /// (counted in <see cref="DtlsSession.DroppedDatagrams"/> and the statistics). Overrides
    /// <see cref="DtlsOptions.ReceiveQueueCapacity"/> for the listener's sessions. Default 256.
    /// </summary>
    public int MaxQueuedDatagramsPerSession { get; init; } = 256;

    /// <summary>
    /// The largest datagram accepted, in bytes of UDP payload; larger ones are dropped and counted.
    /// It sizes each receive loop's buffer. Between 256 and 65,535; default 65,507 (the IPv4 maximum).
    /// </summary>
    public int MaxDatagramSize { get; init; } = 65_507;

    /// <summary>
    /// Receive loops, to use more cores. Above 1, on Linux, that many sockets are bound to the same
    /// port with <c>SO_REUSEPORT</c> and the kernel spreads peers over them by hashing the address
    /// 4-tuple (so one peer always reaches the same socket); elsewhere, that many loops share one
    /// socket. Default 1.
    /// </summary>
    public int ReceiveLoops { get; init; } = 1;

    /// <summary>
    /// The secret the HelloVerifyRequest cookies are derived from: at least 16 bytes, the same on every
    /// server of a fleet behind a UDP load balancer so that any of them verifies any cookie (their
    /// clocks must agree to well within <see cref="CookieSecretRotation"/>). Empty (the default): a
    /// random secret for this listener.
    /// </summary>
    public ReadOnlyMemory<byte> CookieSecret { get; init; }

    /// <summary>
    /// How often the cookie key changes. A cookie verifies under the current and the previous key,
    /// so it is accepted for between one and two periods. Default 5 minutes.
    /// </summary>
    public TimeSpan CookieSecretRotation { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Receives the listener's events (start, stop, handshakes, refusals, reaping, errors); null logs nothing.</summary>
    public ILogger? Logger { get; init; }
}
