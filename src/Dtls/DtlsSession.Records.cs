using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>Application data: one send is one record in one datagram, one receive is one datagram.</summary>
public sealed partial class DtlsSession
{
    [ThreadStatic]
    private static byte[]? t_plaintext;

    // Cancelled when the session can receive nothing more (close_notify read, a record failure) and on
    // Dispose: wakes every receive waiting on the socket, not only the one that read the close_notify
    // or the fatal alert, which would otherwise wait for a datagram that never comes.
    private readonly CancellationTokenSource _ended = new();

    /// <summary>Sends <paramref name="datagram"/> as one DTLS record in one UDP datagram.</summary>
    /// <exception cref="ArgumentException">The payload is empty or larger than <see cref="MaxDatagramPayload"/>; it is never split or truncated.</exception>
    /// <exception cref="InvalidOperationException">The handshake has not completed.</exception>
    /// <exception cref="DtlsException">The session failed.</exception>
    public void Send(ReadOnlySpan<byte> datagram)
    {
        while (!TrySend(datagram))
        {
            Thread.Yield();
        }
    }

    /// <summary>Sends <paramref name="datagram"/> as one DTLS record in one UDP datagram.</summary>
    /// <exception cref="ArgumentException">The payload is empty or larger than <see cref="MaxDatagramPayload"/>; it is never split or truncated.</exception>
    /// <exception cref="InvalidOperationException">The handshake has not completed.</exception>
    /// <exception cref="DtlsException">The session failed.</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return TrySend(datagram.Span) ? ValueTask.CompletedTask : SendSlowAsync(datagram, cancellationToken);
    }

    private async ValueTask SendSlowAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken)
    {
        // The socket's send buffer is full (WANT_WRITE): rare for UDP, so yield and retry.
        do
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
        }
        while (!TrySend(datagram.Span));
    }

    private bool TrySend(ReadOnlySpan<byte> datagram)
    {
        lock (_lock)
        {
            ThrowIfNotEstablished();
            if (datagram.IsEmpty || datagram.Length > MaxDatagramPayload)
            {
                throw new ArgumentException(
                    $"A datagram must hold 1 to {MaxDatagramPayload} bytes (MaxDatagramPayload at Mtu {_context.Options.Mtu}); this one has {datagram.Length}. DTLS does not split datagrams.",
                    nameof(datagram));
            }

            using SocketLease lease = new(_socket);
            ErrorQueue.Clear();
            int result = SSL_write_ex(_ssl, datagram, out _);
            RethrowCallbackException();
            if (result == 1)
            {
                return true;
            }

            int error = SSL_get_error(_ssl, result);
            if (error == SSL_ERROR_WANT_WRITE)
            {
                return false;
            }

            throw RecordFailure(error, "SSL_write_ex");
        }
    }

    /// <summary>Receives one datagram into <paramref name="buffer"/>.</summary>
    /// <returns>The datagram's length, or 0 once the peer has sent close_notify.</returns>
    /// <exception cref="ArgumentException">The buffer is smaller than the next datagram; the datagram is kept for the next call.</exception>
    /// <exception cref="DtlsException">The peer sent a fatal alert or the session failed.</exception>
    /// <exception cref="ObjectDisposedException">The session was disposed, also while the call was waiting.</exception>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return _received is not null ? ReceiveQueuedAsync(buffer, cancellationToken) : ReceivePulledAsync(buffer, cancellationToken);
    }

    /// <summary>Blocking <see cref="ReceiveAsync"/>.</summary>
    public int Receive(Span<byte> buffer)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            int n = ReceiveAsync(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
            rented.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // Pooled builders: a receive that has to wait must not allocate its state machine (zero steady-state allocations).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceivePulledAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_lock)
            {
                ThrowIfNotEstablished();
                int n = ReadRecord(buffer.Span);
                if (n >= 0)
                {
                    return n;
                }
            }

            try
            {
                await WaitReadableAsync(Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (_state == SessionState.Disposed && !cancellationToken.IsCancellationRequested)
            {
                throw new ObjectDisposedException(nameof(DtlsSession), e);
            }
        }
    }

    /// <summary>Reads one record over the socket BIO: its length, 0 at close_notify, -1 when nothing has arrived.</summary>
    private unsafe int ReadRecord(Span<byte> buffer)
    {
        if (_state == SessionState.Closed)
        {
            return 0;
        }

        using SocketLease lease = new(_socket);
        fixed (byte* p = buffer)
        {
            ErrorQueue.Clear();
            int result;
            nuint read;
            if (buffer.Length < MaxRecordPlaintext)
            {
                // Peek first, so a buffer too small for the record is an error that loses nothing.
                byte probe;
                result = SSL_peek_ex(_ssl, &probe, 1, out _);
                RethrowCallbackException();
                if (result == 1 && SSL_pending(_ssl) is int pending && pending > buffer.Length)
                {
                    throw new ArgumentException($"The buffer holds {buffer.Length} bytes but the next datagram has {pending}; it is kept for a call with a larger buffer.", nameof(buffer));
                }
            }
            else
            {
                result = 1;
            }

            // A failed peek already said why (usually WANT_READ): reading again would only repeat the recv().
            if (result == 1)
            {
                result = SSL_read_ex(_ssl, p, (nuint)buffer.Length, out read);
                RethrowCallbackException();
                if (result == 1)
                {
                    return (int)read;
                }
            }

            int error = SSL_get_error(_ssl, result);
            switch (error)
            {
                case SSL_ERROR_WANT_READ or SSL_ERROR_WANT_WRITE:
                    return -1;
                case SSL_ERROR_ZERO_RETURN:
                    _state = SessionState.Closed;
                    ErrorQueue.Clear();
                    WakeReceivers();
                    return 0;
                default:
                    throw RecordFailure(error, "SSL_read_ex");
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveQueuedAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            ThrowIfNotEstablished();
        }

        ChannelReader<PooledDatagram> reader = _received!.Reader;
        while (true)
        {
            lock (_receiveGate)
            {
                if (reader.TryPeek(out PooledDatagram next))
                {
                    if (next.Length > buffer.Length)
                    {
                        throw new ArgumentException($"The buffer holds {buffer.Length} bytes but the next datagram has {next.Length}; it is kept for a call with a larger buffer.", nameof(buffer));
                    }

                    reader.TryRead(out next);
                    next.Buffer.AsSpan(0, next.Length).CopyTo(buffer.Span);
                    next.Return();
                    return next.Length;
                }
            }

            if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }
        }
    }

    /// <summary>
    /// Over our BIO: processes one received datagram on the caller's (receive loop's) thread:
    /// advances the handshake, decrypts every record it holds into the receive queue.
    /// Returns false once the session can take no more datagrams.
    /// </summary>
    internal unsafe bool ProcessDatagram(ReadOnlySpan<byte> datagram)
    {
        lock (_lock)
        {
            if (_state is SessionState.Disposed or SessionState.Failed)
            {
                return false;
            }

            fixed (byte* p = datagram)
            {
                _inbound = p;
                _inboundLength = datagram.Length;
                try
                {
                    if (_state == SessionState.Handshaking)
                    {
                        DriveHandshake();
                    }

                    if (_state == SessionState.Established)
                    {
                        DrainRecords();
                    }
                }
                finally
                {
                    _inbound = null;
                    _inboundLength = 0;
                }
            }

            return _state is not (SessionState.Failed or SessionState.Disposed);
        }
    }

    private void DrainRecords()
    {
        byte[] plaintext = t_plaintext ??= new byte[MaxRecordPlaintext];
        while (true)
        {
            int n;
            try
            {
                n = ReadRecord(plaintext);
            }
            catch (DtlsException e)
            {
                _state = SessionState.Failed;
                _failure = e;
                _received!.Writer.TryComplete(e);
                return;
            }

            if (n < 0)
            {
                return;
            }

            if (n == 0)
            {
                _received!.Writer.TryComplete();
                return;
            }

            EnqueuePlaintext(plaintext.AsSpan(0, n));
        }
    }

    internal void OnTransportFailed(Exception e)
    {
        lock (_lock)
        {
            FailHandshakeLocked(e);
            _received?.Writer.TryComplete(e);
        }
    }

    /// <summary>Our BIO's read: hands OpenSSL the datagram being processed, once; -1 when there is none.</summary>
    internal unsafe int TakeInbound(Span<byte> destination)
    {
        if (_inbound is null)
        {
            return -1;
        }

        int n = Math.Min(destination.Length, _inboundLength);
        new ReadOnlySpan<byte>(_inbound, n).CopyTo(destination);
        _inbound = null;
        _inboundLength = 0;
        return n;
    }

    internal unsafe int InboundPending => _inbound is null ? 0 : _inboundLength;

    /// <summary>Our BIO's write: one record, one datagram.</summary>
    internal void SendDatagram(ReadOnlySpan<byte> datagram) => _sender!.Send(datagram);

    private DtlsException RecordFailure(int sslError, string call)
    {
        string socketError = SocketErrorText(sslError);
        OpenSslException errors = ErrorQueue.ToException(call);
        var failure = new DtlsException(
            sslError == SSL_ERROR_SYSCALL ? $"The DTLS session with {RemoteEndPoint} failed on the socket{socketError}" : $"The DTLS session with {RemoteEndPoint} failed",
            _lastAlert,
            errors);
        _state = SessionState.Failed;
        _failure = failure;
        WakeReceivers();
        return failure;
    }

    /// <summary>Under <see cref="_lock"/>: CancelAsync runs the waiters' callbacks on the thread pool, never inline here.</summary>
    private void WakeReceivers() => _ = _ended.CancelAsync();

    /// <summary>Over OpenSSL's socket BIO: waits until a datagram is readable (true) or <paramref name="timeout"/> passes (false).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WaitReadableAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // A zero-byte peek completes when a datagram is queued, without taking it: OpenSSL reads it.
        if (timeout == Timeout.InfiniteTimeSpan && !cancellationToken.CanBeCanceled)
        {
            try
            {
                await _socket!.ReceiveAsync(Memory<byte>.Empty, SocketFlags.Peek, _ended.Token).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                // An ICMP error for an earlier send; let OpenSSL's read see what is there.
            }
            catch (OperationCanceledException) when (_state != SessionState.Disposed)
            {
                // The session ended on another receive; the caller's next read reports it.
            }

            return true;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _ended.Token);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            linked.CancelAfter(timeout);
        }

        try
        {
            await _socket!.ReceiveAsync(Memory<byte>.Empty, SocketFlags.Peek, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && _state != SessionState.Disposed)
        {
            return false;
        }
        catch (SocketException)
        {
        }

        return true;
    }
}
