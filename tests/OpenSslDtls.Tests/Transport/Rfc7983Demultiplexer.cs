using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Transport;

/// <summary>
/// What a WebRTC application writes around its ICE socket: ONE UDP socket carries STUN and DTLS, told
/// apart by the first byte (RFC 7983 §7: 0-3 STUN, 20-63 DTLS, 64-79 TURN channel, 128-191 RTP/RTCP).
/// STUN binding requests (RFC 8489 §5: magic cookie 0x2112A442) are counted and answered with a
/// binding success response carrying XOR-MAPPED-ADDRESS; DTLS datagrams are delivered to the
/// <see cref="DtlsDatagramTransport"/> of their sender; anything else is counted and dropped.
/// </summary>
internal sealed class Rfc7983Demultiplexer : IAsyncDisposable
{
    public const uint MagicCookie = 0x2112A442;

    private readonly Socket _socket;
    private readonly ConcurrentDictionary<IPEndPoint, SharedSocketTransport> _peers = new();
    private readonly Action<SharedSocketTransport>? _onNewPeer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _stunRequests;
    private int _dtlsDatagrams;
    private int _other;

    /// <param name="onNewPeer">Server role: called on the receive loop for the first DTLS datagram from an unknown sender, before it is delivered; it creates the session and starts its handshake.</param>
    public Rfc7983Demultiplexer(Action<SharedSocketTransport>? onNewPeer = null)
    {
        _onNewPeer = onNewPeer;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _loop = Task.Run(ReceiveLoopAsync);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>STUN binding requests received (and answered).</summary>
    public int StunRequests => Volatile.Read(ref _stunRequests);

    /// <summary>Datagrams whose first byte said DTLS.</summary>
    public int DtlsDatagrams => Volatile.Read(ref _dtlsDatagrams);

    /// <summary>Datagrams neither STUN binding requests nor DTLS.</summary>
    public int Other => Volatile.Read(ref _other);

    /// <summary>Any failure of the receive loop, for the test's message.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>Client role: a transport to <paramref name="remote"/> over this socket.</summary>
    public SharedSocketTransport Connect(IPEndPoint remote) => _peers.GetOrAdd(remote, r => new SharedSocketTransport(_socket, r));

    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = new byte[65536];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                SocketReceiveFromResult result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                var from = (IPEndPoint)result.RemoteEndPoint;
                ReadOnlySpan<byte> datagram = buffer.AsSpan(0, result.ReceivedBytes);
                switch (datagram.IsEmpty ? -1 : datagram[0])
                {
                    case >= 0 and <= 3:
                        AnswerStun(datagram, from);
                        break;
                    case >= 20 and <= 63:
                        Interlocked.Increment(ref _dtlsDatagrams);
                        DeliverDtls(datagram, from);
                        break;
                    default:
                        Interlocked.Increment(ref _other);
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            Failure = e;
        }
    }

    private void DeliverDtls(ReadOnlySpan<byte> datagram, IPEndPoint from)
    {
        if (!_peers.TryGetValue(from, out SharedSocketTransport? transport))
        {
            if (_onNewPeer is null)
            {
                Interlocked.Increment(ref _other);
                return;
            }

            transport = new SharedSocketTransport(_socket, from);
            _peers[from] = transport;
            _onNewPeer(transport);
        }

        transport.Deliver(datagram);
    }

    /// <summary>A binding request (type 0x0001, RFC 8489 §5): answered with a binding success response (0x0101) naming the sender.</summary>
    private void AnswerStun(ReadOnlySpan<byte> request, IPEndPoint from)
    {
        if (request.Length < 20 || BinaryPrimitives.ReadUInt16BigEndian(request) != 0x0001 || BinaryPrimitives.ReadUInt32BigEndian(request[4..]) != MagicCookie)
        {
            Interlocked.Increment(ref _other);
            return;
        }

        Interlocked.Increment(ref _stunRequests);
        Span<byte> response = stackalloc byte[20 + 12];
        BinaryPrimitives.WriteUInt16BigEndian(response, 0x0101);
        BinaryPrimitives.WriteUInt16BigEndian(response[2..], 12);
        request.Slice(4, 16).CopyTo(response[4..]); // cookie and transaction ID
        BinaryPrimitives.WriteUInt16BigEndian(response[20..], 0x0020); // XOR-MAPPED-ADDRESS
        BinaryPrimitives.WriteUInt16BigEndian(response[22..], 8);
        response[24] = 0;
        response[25] = 0x01; // IPv4
        BinaryPrimitives.WriteUInt16BigEndian(response[26..], (ushort)(from.Port ^ (MagicCookie >> 16)));
        BinaryPrimitives.WriteUInt32BigEndian(response[28..], BinaryPrimitives.ReadUInt32BigEndian(from.Address.GetAddressBytes()) ^ MagicCookie);
        _socket.SendTo(response, SocketFlags.None, from);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _socket.Dispose();
        _stop.Dispose();
    }
}

// README-BEGIN
// A transport over a UDP socket the application owns and shares (WebRTC: STUN, DTLS and SRTP on one
// ICE socket). The session sends through it; the application's receive loop delivers each datagram
// whose first byte is 20-63 (RFC 7983 §7) with transport.Deliver and handles the rest itself.
internal sealed class SharedSocketTransport(Socket socket, IPEndPoint peer) : DtlsDatagramTransport
{
    public override EndPoint RemoteEndPoint => peer;

    public override EndPoint? LocalEndPoint => socket.LocalEndPoint;

    public override void Send(ReadOnlySpan<byte> datagram)
    {
        try
        {
            socket.SendTo(datagram, SocketFlags.None, peer);
        }
        catch (SocketException)
        {
            // Lost, as any UDP datagram may be: DTLS retransmits its handshake flights.
        }
    }
}
// README-END
