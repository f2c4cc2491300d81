using System.Net;
using System.Net.Sockets;

namespace OpenSslDtls.Samples.Tests.Fleet.Support;

/// <summary>
/// A UDP relay between one client and nginx that holds the client's first ClientHello carrying a cookie
/// (RFC 6347 §4.2.1) until <see cref="Release"/>: the test releases it once nginx has ended the UDP session
/// that carried the first ClientHello, so that the second one opens a new nginx session and, under
/// round-robin, reaches another instance. Everything else passes straight through. Loopback only.
/// </summary>
public sealed class HoldingRelay : IAsyncDisposable
{
    private readonly Socket _client = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _upstream = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<byte[]> _held = [];
    private readonly Lock _gate = new();
    private readonly Task[] _pumps;
    private EndPoint? _clientEndPoint;
    private bool _holding = true;
    private int _heldCount;

    public HoldingRelay(IPEndPoint nginx)
    {
        _client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _upstream.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _upstream.Connect(nginx);
        _pumps = [FromClientAsync(), FromNginxAsync()];
    }

    /// <summary>Where the client connects.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_client.LocalEndPoint!;

    /// <summary>The port nginx sees the client on (the relay's upstream socket).</summary>
    public int UpstreamPort => ((IPEndPoint)_upstream.LocalEndPoint!).Port;

    /// <summary>How many cookie-bearing ClientHellos (retransmissions included) are held so far.</summary>
    public int HeldCount => Volatile.Read(ref _heldCount);

    /// <summary>Forwards what was held, and everything after it.</summary>
    public void Release()
    {
        lock (_gate)
        {
            _holding = false;
            foreach (byte[] datagram in _held)
            {
                _upstream.Send(datagram);
            }

            _held.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _client.Dispose();
        _upstream.Dispose();
        try
        {
            await Task.WhenAll(_pumps);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>An epoch-0 handshake record holding a ClientHello whose cookie is not empty.</summary>
    private static bool IsClientHelloWithCookie(ReadOnlySpan<byte> d)
    {
        // Record header 13 bytes, handshake header 12, then client_version (2), random (32), session_id, cookie.
        const int Body = 25;
        if (d.Length < Body + 35 || d[0] != 22 || d[3] != 0 || d[4] != 0 || d[13] != 1)
        {
            return false;
        }

        int sessionIdLength = d[Body + 34];
        int cookieAt = Body + 35 + sessionIdLength;
        return cookieAt < d.Length && d[cookieAt] > 0;
    }

    private async Task FromClientAsync()
    {
        byte[] buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r = await _client.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            _clientEndPoint = r.RemoteEndPoint;
            byte[] datagram = buffer[..r.ReceivedBytes];
            lock (_gate)
            {
                if (_holding && IsClientHelloWithCookie(datagram))
                {
                    _held.Add(datagram);
                    Interlocked.Increment(ref _heldCount);
                    continue;
                }
            }

            await _upstream.SendAsync(datagram, _stop.Token);
        }
    }

    private async Task FromNginxAsync()
    {
        byte[] buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await _upstream.ReceiveAsync(buffer, _stop.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                continue; // An ICMP error from a session nginx already closed.
            }

            if (_clientEndPoint is { } client)
            {
                await _client.SendToAsync(buffer.AsMemory(0, n), client, _stop.Token);
            }
        }
    }
}
