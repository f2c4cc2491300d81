using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace OpenSsl.Dtls;

/// <summary>
/// The <see cref="DtlsDatagramTransport"/> of a session on a connected UDP socket: sends go straight
/// to the socket, and one receive loop (an async loop, not a thread, started when the session
/// attaches) delivers every datagram (<see cref="DtlsDatagramTransport.Deliver"/>) to the session,
/// which checks its records before OpenSSL sees them (see <see cref="DtlsRecordFilter"/>).
/// ICMP errors (port or host unreachable, reported by the kernel on a later send or receive of a
/// connected socket) are transient here: a DTLS datagram may be lost at any time and a server may
/// still be starting or restarting (RFC 6347 §4.1.1.1 leaves ICMP to the application; RFC 8085 §5.2
/// warns that they can be forged). They are counted and named if the handshake then times out.
/// </summary>
internal sealed class ConnectedSocketDriver : DtlsDatagramTransport
{
    private readonly Socket _socket;
    private readonly bool _ownsSocket;
    private readonly CancellationTokenSource _stop = new();
    private long _transientErrors;
    private int _lastTransientError;

    public ConnectedSocketDriver(Socket socket, bool ownsSocket)
    {
        _socket = socket;
        _ownsSocket = ownsSocket;
        RemoteEndPoint = socket.RemoteEndPoint ?? throw new ArgumentException("The socket must be connected to the peer.", nameof(socket));
        HeaderOverhead = SocketAddressing.HeaderOverhead(RemoteEndPoint.AddressFamily);
    }

    public override EndPoint? LocalEndPoint => _socket.LocalEndPoint;

    public override EndPoint RemoteEndPoint { get; }

    public override int HeaderOverhead { get; }

    internal override string? TransientErrorSummary
    {
        get
        {
            long count = Interlocked.Read(ref _transientErrors);
            return count == 0 ? null : $"{count} ICMP error(s) said the peer was unreachable (last: {(SocketError)Volatile.Read(ref _lastTransientError)}); is a DTLS server listening at {RemoteEndPoint}?";
        }
    }

    public override void Send(ReadOnlySpan<byte> datagram)
    {
        // A connected UDP socket reports an ICMP error from an earlier send on the next call and
        // sends nothing in that call (Linux: the pending SO_ERROR), so one retry sends this datagram.
        // If that fails too, the datagram is lost, as UDP datagrams may be: DTLS retransmits flights.
        for (int attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                _socket.Send(datagram, SocketFlags.None);
                return;
            }
            catch (SocketException e) when (IsTransient(e.SocketErrorCode))
            {
                NoteTransient(e.SocketErrorCode);
            }
            catch (ObjectDisposedException e) when (!_stop.IsCancellationRequested)
            {
                throw SocketDisposedFirst(e);
            }
        }
    }

    private static ObjectDisposedException SocketDisposedFirst(Exception? inner) =>
        new("The UDP socket was disposed before its DTLS session; dispose the session first.", inner);

    internal override void OnAttached(DtlsSession session) => _ = ReceiveLoopAsync(session);

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
                catch (SocketException e) when (IsTransient(e.SocketErrorCode))
                {
                    NoteTransient(e.SocketErrorCode);
                    continue;
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.MessageSize)
                {
                    continue; // Windows: a datagram larger than the buffer; no DTLS record is that large.
                }

                if (!Deliver(buffer.AsSpan(0, received)))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException e)
        {
            if (!_stop.IsCancellationRequested)
            {
                // Not our Dispose: the caller disposed the socket under a live session, whose waiting
                // receives must end rather than wait for datagrams that can no longer come.
                session.OnTransportFailed(SocketDisposedFirst(e));
            }
        }
        catch (SocketException e)
        {
            ReportClosed(session.TransportFailure(e)); // a DtlsException holding the socket's error
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool IsTransient(SocketError error) =>
        error is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.HostUnreachable
            or SocketError.NetworkUnreachable or SocketError.NetworkReset or SocketError.HostDown;

    private void NoteTransient(SocketError error)
    {
        Volatile.Write(ref _lastTransientError, (int)error);
        Interlocked.Increment(ref _transientErrors);
    }

    protected override void Dispose(bool disposing)
    {
        _stop.Cancel();
        if (_ownsSocket)
        {
            _socket.Dispose();
        }

        _stop.Dispose();
        base.Dispose(disposing);
    }
}
