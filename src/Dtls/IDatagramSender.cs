using System.Net;

namespace OpenSsl.Dtls;

/// <summary>
/// Where a session over our datagram BIO sends its records: one call, one UDP datagram, to the
/// one peer this sender stands for. Implemented by the listener (one socket, many peers) and by
/// <see cref="ConnectedSocketDriver"/> (a connected socket).
/// </summary>
internal interface IDatagramSender
{
    EndPoint? LocalEndPoint { get; }

    EndPoint RemoteEndPoint { get; }

    /// <summary>IP and UDP header bytes per datagram: 28 for IPv4, 48 for IPv6.</summary>
    int HeaderOverhead { get; }

    /// <summary>What transient errors (ICMP unreachable) this transport has seen, for a handshake timeout's message; null if none.</summary>
    string? TransientErrorSummary => null;

    /// <summary>Sends one datagram synchronously (UDP sends do not block for long); throws <see cref="System.Net.Sockets.SocketException"/>.</summary>
    void Send(ReadOnlySpan<byte> datagram);
}
