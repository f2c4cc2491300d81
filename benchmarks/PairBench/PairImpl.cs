namespace OpenSslDtls.PairBench;

/// <summary>
/// One implementation's server and client over a pair of connected loopback sockets. The server
/// keeps its port across pairs (a client's resumable session is keyed by the server's address).
/// </summary>
internal abstract class PairImpl : IAsyncDisposable
{
    /// <summary>A 1-byte datagram ends an echo or bulk run (payloads are larger), as in native/bench.c.</summary>
    public const int EndMark = 1;

    /// <summary>Opens a pair, completes both handshakes, closes both sides (close_notify).</summary>
    public abstract Task HandshakeOnceAsync(CancellationToken cancellationToken);

    /// <summary>Opens a pair and starts the server's loop: echo (<paramref name="echo"/>) or count what arrives and ack it (<see cref="PacedReceiver"/>).</summary>
    public abstract Task OpenAsync(bool echo, CancellationToken cancellationToken);

    public abstract ValueTask SendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

    public abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Receives one datagram on the client, or returns -1 if none came within <paramref name="timeout"/> (the bulk sender's wait for an ack).</summary>
    public abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Sends the end marks, waits for the server loop; returns the datagrams it counted and the Stopwatch timestamp of the last.</summary>
    public abstract Task<(long Received, long LastTimestamp)> CloseAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}
