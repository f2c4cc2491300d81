using System.Net.Sockets;

namespace OpenSslDtls.Tests.Interop;

/// <summary>Which way a datagram crosses the <see cref="LossyRelay"/>.</summary>
internal enum RelayDirection
{
    ClientToServer,
    ServerToClient,
}

/// <summary>
/// A UDP relay on loopback between a client and a server that drops the datagrams a predicate picks.
/// The client's socket is connected to <see cref="ClientSide"/>, the server's to <see cref="ServerSide"/>;
/// <see cref="Forward"/> moves whatever arrived, without blocking.
/// </summary>
internal sealed class LossyRelay : IDisposable
{
    private readonly Func<RelayDirection, int, bool> _drop;
    private readonly byte[] _buffer = new byte[65536];
    private readonly int[] _seen = new int[2];
    private readonly int[] _dropped = new int[2];

    /// <param name="drop">Given the direction and the 0-based index of a datagram in that direction, whether to drop it.</param>
    public LossyRelay(Func<RelayDirection, int, bool> drop)
    {
        _drop = drop;
        ClientSide = LoopbackUdp.Bind();
        try
        {
            ServerSide = LoopbackUdp.Bind();
        }
        catch
        {
            ClientSide.Dispose();
            throw;
        }
    }

    /// <summary>The relay's socket facing the client.</summary>
    public Socket ClientSide { get; }

    /// <summary>The relay's socket facing the server.</summary>
    public Socket ServerSide { get; }

    /// <summary>The relay's sockets, for waiting on them.</summary>
    public IEnumerable<Socket> Sockets => [ClientSide, ServerSide];

    /// <summary>Datagrams that arrived in <paramref name="direction"/> (forwarded or dropped).</summary>
    public int Seen(RelayDirection direction) => _seen[(int)direction];

    /// <summary>Datagrams dropped in <paramref name="direction"/>.</summary>
    public int Dropped(RelayDirection direction) => _dropped[(int)direction];

    /// <summary>Forwards (or drops) every datagram waiting on either side.</summary>
    public void Forward()
    {
        Move(ClientSide, ServerSide, RelayDirection.ClientToServer);
        Move(ServerSide, ClientSide, RelayDirection.ServerToClient);
    }

    public void Dispose()
    {
        ClientSide.Dispose();
        ServerSide.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"relay: client->server {Seen(RelayDirection.ClientToServer)} seen/{Dropped(RelayDirection.ClientToServer)} dropped, " +
        $"server->client {Seen(RelayDirection.ServerToClient)} seen/{Dropped(RelayDirection.ServerToClient)} dropped";

    private void Move(Socket from, Socket to, RelayDirection direction)
    {
        // Bounded: a relay that never stops reading would starve the endpoints.
        for (int i = 0; i < 256; i++)
        {
            int length = from.Receive(_buffer, 0, _buffer.Length, SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                return;
            }

            if (error != SocketError.Success)
            {
                throw new SocketException((int)error);
            }

            int index = _seen[(int)direction]++;
            if (_drop(direction, index))
            {
                _dropped[(int)direction]++;
                continue;
            }

            to.Send(_buffer, 0, length, SocketFlags.None);
        }
    }
}
