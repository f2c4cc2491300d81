using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace OpenSslDtls.Listener.Tests.Support;

/// <summary>
/// A UDP relay on loopback between one client and the listener: the client talks to
/// <see cref="EndPoint"/>, the listener sees the relay's upstream socket as the client. It records
/// every datagram each way, can rewrite what the client sends (<see cref="FromClientRewrite"/>), and
/// can inject datagrams from the client's address as the listener sees it (an on-path attacker).
/// </summary>
internal sealed class UdpRelay : IAsyncDisposable
{
    private readonly Socket _clientSide;
    private readonly Socket _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _toServer;
    private readonly Task _toClient;
    private EndPoint? _client;

    public UdpRelay(IPEndPoint listener, IPAddress? upstreamAddress = null)
    {
        _clientSide = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _clientSide.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _upstream = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _upstream.Bind(new IPEndPoint(upstreamAddress ?? IPAddress.Loopback, 0));
        _upstream.Connect(listener);
        EndPoint = (IPEndPoint)_clientSide.LocalEndPoint!;
        _toServer = Task.Run(ToServerAsync);
        _toClient = Task.Run(ToClientAsync);
    }

    /// <summary>Where the client sends.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The client's address as the listener sees it.</summary>
    public IPEndPoint UpstreamEndPoint => (IPEndPoint)_upstream.LocalEndPoint!;

    /// <summary>Turns one datagram from the client into the datagrams sent on (null: unchanged).</summary>
    public Func<byte[], IReadOnlyList<byte[]>>? FromClientRewrite { get; set; }

    /// <summary>Turns one datagram from the listener into the datagrams sent on to the client (null: unchanged).</summary>
    public Func<byte[], IReadOnlyList<byte[]>>? FromServerRewrite { get; set; }

    /// <summary>Datagrams the client sent, as received (before any rewrite).</summary>
    public ConcurrentQueue<byte[]> FromClient { get; } = new();

    /// <summary>Datagrams the listener sent to the client.</summary>
    public ConcurrentQueue<byte[]> FromServer { get; } = new();

    /// <summary>Sends <paramref name="datagram"/> to the listener from the client's address, past the client.</summary>
    public void Inject(byte[] datagram) => _upstream.Send(datagram);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _clientSide.Dispose();
        _upstream.Dispose();
        await Task.WhenAll(_toServer, _toClient).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task ToServerAsync()
    {
        byte[] buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _clientSide.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            _client = received.RemoteEndPoint;
            byte[] datagram = buffer[..received.ReceivedBytes];
            FromClient.Enqueue(datagram);
            foreach (byte[] forward in FromClientRewrite?.Invoke(datagram) ?? [datagram])
            {
                TrySend(() => _upstream.Send(forward));
            }
        }
    }

    private async Task ToClientAsync()
    {
        byte[] buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await _upstream.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            byte[] datagram = buffer[..n];
            FromServer.Enqueue(datagram);
            if (_client is { } client)
            {
                foreach (byte[] forward in FromServerRewrite?.Invoke(datagram) ?? [datagram])
                {
                    TrySend(() => _clientSide.SendTo(forward, client));
                }
            }
        }
    }

    private static void TrySend(Action send)
    {
        try
        {
            send();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Lossy like the network it stands in for.
        }
    }
}
