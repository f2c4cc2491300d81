using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

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

    /// <summary>
    /// The receive buffer's size: the largest datagram a DTLS peer sends us, one record of 13 header
    /// bytes and at most 2^14 + 2048 bytes of ciphertext (RFC 6347 §4.1, RFC 5246 §6.2.3), plus one
    /// byte that only a larger datagram reaches. OpenSSL's own datagram reads stop short of this
    /// (its read buffer is 2^14 plus 320 bytes of overhead and the header, ssl3_setup_read_buffer in
    /// ssl/record/ssl3_buffer.c), so nothing OpenSSL could use is lost. 64 KiB per session before:
    /// a client that holds many sessions paid that for each (docs/benchmarks.md).
    /// </summary>
    internal const int ReceiveBufferSize = 13 + 16384 + 2048 + 1;

    private async Task ReceiveLoopAsync(DtlsSession session)
    {
        byte[] buffer = RentBuffer();
        try
        {
            await ReceiveUntilStoppedAsync(session, buffer).ConfigureAwait(false);
        }
        finally
        {
            ReturnBuffer(buffer); // no receive is pending on it: each one completed before the loop ended
        }
    }

    // A few spare buffers for sessions that come and go (a handshake per connection): ArrayPool would
    // hand out its 32 KiB bucket for this size, so a held session would pay 32 KiB, not 18.
    private const int MaxSpareBuffers = 16;
    private static readonly Stack<byte[]> SpareBuffers = new();

    private static byte[] RentBuffer()
    {
        lock (SpareBuffers)
        {
            if (SpareBuffers.TryPop(out byte[]? spare))
            {
                return spare;
            }
        }

        return GC.AllocateUninitializedArray<byte>(ReceiveBufferSize);
    }

    private static void ReturnBuffer(byte[] buffer)
    {
        lock (SpareBuffers)
        {
            if (SpareBuffers.Count < MaxSpareBuffers)
            {
                SpareBuffers.Push(buffer);
            }
        }
    }

    private async Task ReceiveUntilStoppedAsync(DtlsSession session, byte[] buffer)
    {
        // A socket we own is closed by our Dispose, which aborts the pending receive: no token needed,
        // and none registered and unregistered per datagram. The caller's socket stays open, so its
        // receive must be cancelled by the token.
        CancellationToken stop = _ownsSocket ? CancellationToken.None : _stop.Token;
        while (true)
        {
            ValueTask<int> receive;
            try
            {
#pragma warning disable CA2012 // Consumed once: its completion is awaited, then its result read at most once.
                receive = _socket.ReceiveAsync(buffer, SocketFlags.None, stop);
#pragma warning restore CA2012
            }
            catch (ObjectDisposedException e)
            {
                StopOnDisposedSocket(session, e);
                return;
            }

            if (!receive.IsCompleted)
            {
                await new Completion(receive);
            }

            // Our Dispose cancels the receive (or closes the socket under it): it ends here, without
            // the exception that reading the result would throw (one per session, docs/benchmarks.md).
            // Only our flag tells: on Linux (.NET 10) the cancelled receive's ValueTask was seen to report success.
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            int received;
            try
            {
                received = receive.Result;
            }
            catch (SocketException e) when (IsTransient(e.SocketErrorCode))
            {
                NoteTransient(e.SocketErrorCode);
                continue;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.MessageSize)
            {
                received = buffer.Length; // Windows: a datagram larger than the buffer, cut.
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
            {
                // The application disposed the socket under a live session (Linux aborts the receive).
                StopOnDisposedSocket(session, new ObjectDisposedException(nameof(Socket), e.Message));
                return;
            }
            catch (ObjectDisposedException e)
            {
                StopOnDisposedSocket(session, e);
                return;
            }
            catch (SocketException e)
            {
                ReportClosed(session.TransportFailure(e)); // a DtlsException holding the socket's error
                return;
            }
            catch (OperationCanceledException)
            {
                return; // cancelled by our Dispose between the check above and here
            }

            if (received == buffer.Length)
            {
                // Larger than any DTLS datagram, so the kernel cut it (Linux reports no MSG_TRUNC to a
                // plain recv): a cut record must not reach OpenSSL. Dropped and counted as forged.
                session.CountRejectedDatagram();
                continue;
            }

            if (!Deliver(buffer.AsSpan(0, received)))
            {
                return;
            }
        }
    }

    private void StopOnDisposedSocket(DtlsSession session, ObjectDisposedException e)
    {
        if (!_stop.IsCancellationRequested)
        {
            // Not our Dispose: the caller disposed the socket under a live session, whose waiting
            // receives must end rather than wait for datagrams that can no longer come.
            session.OnTransportFailed(SocketDisposedFirst(e));
        }
    }

    /// <summary>
    /// Awaits a receive's completion without reading its result, so that a receive our Dispose
    /// cancelled ends the loop without throwing. Allocates nothing: the loop's state machine caches
    /// its continuation.
    /// </summary>
    private readonly struct Completion(ValueTask<int> receive) : ICriticalNotifyCompletion
    {
        public Completion GetAwaiter() => this;

        public bool IsCompleted => receive.IsCompleted;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) => receive.ConfigureAwait(false).GetAwaiter().OnCompleted(continuation);

        public void UnsafeOnCompleted(Action continuation) => receive.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(continuation);
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
