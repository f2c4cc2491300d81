using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace OpenSslDtls.Interop.Tests.Support;

/// <summary>
/// A UDP relay on the loopback address of the server's family, standing in for the network between one
/// client and one server: it forwards every datagram unchanged and records its size and direction, so
/// that the tests measure what each side really put on the wire.
/// </summary>
public sealed class MeasuringRelay : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private EndPoint? _client;

    public MeasuringRelay(IPEndPoint server)
    {
        Server = server;
        IPAddress loopback = server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        _socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(loopback, 0));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _loop = RunAsync();
    }

    /// <summary>Where the client sends.</summary>
    public IPEndPoint EndPoint { get; }

    public IPEndPoint Server { get; }

    /// <summary>Every datagram forwarded: direction and UDP payload length.</summary>
    public ConcurrentQueue<(bool FromClient, int Length)> Seen { get; } = new();

    /// <summary>The largest datagram one side sent (0 if none).</summary>
    public int Largest(bool fromClient) => Seen.Where(d => d.FromClient == fromClient).Select(d => d.Length).DefaultIfEmpty(0).Max();

    public int Count(bool fromClient) => Seen.Count(d => d.FromClient == fromClient);

    /// <summary>One side's datagram sizes, for failure messages.</summary>
    public string Sizes(bool fromClient) => string.Join(",", Seen.Where(d => d.FromClient == fromClient).Select(d => d.Length));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(5)));
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        byte[] buffer = new byte[65536];
        EndPoint any = new IPEndPoint(Server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
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
                    continue; // an ICMP error about an earlier forward: a relay carries on
                }

                bool fromClient = !received.RemoteEndPoint.Equals(Server);
                if (fromClient)
                {
                    _client = received.RemoteEndPoint;
                }

                Seen.Enqueue((fromClient, received.ReceivedBytes));
                EndPoint? to = fromClient ? Server : _client;
                if (to is not null)
                {
                    await _socket.SendToAsync(buffer.AsMemory(0, received.ReceivedBytes), SocketFlags.None, to, _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }
}
