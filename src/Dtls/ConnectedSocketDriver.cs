using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace OpenSsl.Dtls;

/// <summary>
/// Drives one session over our datagram BIO on a connected UDP socket: sends go straight to the
/// socket, and one receive loop (an async loop, not a thread) feeds every datagram to the session.
/// </summary>
internal sealed class ConnectedSocketDriver : IDatagramSender, IDisposable
{
    private readonly Socket _socket;
    private readonly bool _ownsSocket;
    private readonly CancellationTokenSource _stop = new();

    public ConnectedSocketDriver(Socket socket, bool ownsSocket)
    {
        _socket = socket;
        _ownsSocket = ownsSocket;
        RemoteEndPoint = socket.RemoteEndPoint ?? throw new ArgumentException("The socket must be connected to the peer.", nameof(socket));
        HeaderOverhead = SocketAddressing.HeaderOverhead(RemoteEndPoint.AddressFamily);
    }

    public EndPoint? LocalEndPoint => _socket.LocalEndPoint;

    public EndPoint RemoteEndPoint { get; }

    public int HeaderOverhead { get; }

    public void Send(ReadOnlySpan<byte> datagram) => _socket.Send(datagram, SocketFlags.None);

    public void Start(DtlsSession session) => _ = ReceiveLoopAsync(session);

    private async Task ReceiveLoopAsync(DtlsSession session)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(65536);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int received;
                try
                {
                    received = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.MessageSize)
                {
                    // An ICMP error about an earlier send, or an oversized datagram: DTLS carries on (RFC 6347 §4.1.2.7).
                    continue;
                }

                // A forged record must not end the session (see DtlsRecordFilter); OpenSSL checks the rest.
                if (!DtlsRecordFilter.IsWellFormed(buffer.AsSpan(0, received), session.MinimumEncryptedRecord))
                {
                    continue;
                }

                if (!session.ProcessDatagram(buffer.AsSpan(0, received)))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException e)
        {
            session.OnTransportFailed(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        if (_ownsSocket)
        {
            _socket.Dispose();
        }

        _stop.Dispose();
    }
}
