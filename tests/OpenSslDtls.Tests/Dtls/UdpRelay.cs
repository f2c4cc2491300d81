using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// A UDP relay on 127.0.0.1 (or ::1) between a client and a server, standing in for the network: it forwards
/// each datagram unchanged, records its size, and drops those <see cref="Drop"/> selects. The server
/// socket and the client socket both connect to <see cref="EndPoint"/>.
/// </summary>
internal sealed class UdpRelay : IDisposable
{
    private Socket _socket;
    private CancellationTokenSource _stop = new();
    private Task _loop;
    private EndPoint? _client;
    private int _fromClient;
    private int _fromServer;

    public UdpRelay(EndPoint server)
    {
        Server = server;
        _socket = LoopbackPair.Bound(family: server.AddressFamily);
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _loop = RunAsync();
    }

    /// <summary>Where both peers send.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The server's address.</summary>
    public EndPoint Server { get; }

    /// <summary>
    /// Decides whether to drop a datagram: (from client?, its 0-based index in that direction, bytes).
    /// Called on the relay's loop only.
    /// </summary>
    public Func<bool, int, ReadOnlyMemory<byte>, bool>? Drop { get; init; }

    /// <summary>Every datagram seen: direction, length, and whether it was dropped.</summary>
    public ConcurrentQueue<(bool FromClient, int Length, bool Dropped)> Seen { get; } = new();

    /// <summary>Sends <paramref name="datagram"/> from the relay to the client (or the server), as if the other side had sent it: an on-path forgery.</summary>
    public void Inject(bool toClient, ReadOnlySpan<byte> datagram)
    {
        EndPoint to = toClient ? _client ?? throw new InvalidOperationException("No client has sent anything yet.") : Server;
        _socket.SendTo(datagram, SocketFlags.None, to);
    }

    private async Task RunAsync()
    {
        byte[] buffer = new byte[65536];
        var any = new IPEndPoint(Server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try
        {
            while (true)
            {
                SocketReceiveFromResult received;
                try
                {
                    received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
                {
                    continue; // An ICMP error about an earlier forward: a relay carries on.
                }

                bool fromClient = !received.RemoteEndPoint.Equals(Server);
                if (fromClient)
                {
                    _client = received.RemoteEndPoint;
                }

                int index = fromClient ? _fromClient++ : _fromServer++;
                ReadOnlyMemory<byte> datagram = buffer.AsMemory(0, received.ReceivedBytes);
                bool drop = Drop?.Invoke(fromClient, index, datagram) ?? false;
                Seen.Enqueue((fromClient, datagram.Length, drop));
                EndPoint? to = fromClient ? Server : _client;
                if (!drop && to is not null)
                {
                    await _socket.SendToAsync(datagram, SocketFlags.None, to, _stop.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }
    }

    /// <summary>
    /// Closes the relay's port for as long as <paramref name="whileClosed"/> runs (datagrams sent to it
    /// meanwhile are answered by ICMP port unreachable), then serves again on the same port.
    /// </summary>
    public async Task CloseForAsync(Func<Task> whileClosed)
    {
        _stop.Cancel();
        _socket.Dispose();
        await _loop;
        _stop.Dispose();
        await whileClosed();
        _stop = new CancellationTokenSource();
        _socket = LoopbackPair.Bound(port: EndPoint.Port, family: EndPoint.AddressFamily);
        _loop = RunAsync();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
