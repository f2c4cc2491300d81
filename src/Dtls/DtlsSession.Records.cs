using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>Application data: one send is one record in one datagram, one receive is one datagram.</summary>
public sealed partial class DtlsSession
{
    [ThreadStatic]
    private static byte[]? t_plaintext;

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
    /// <exception cref="InvalidOperationException">The handshake has not completed, or <see cref="ShutdownAsync"/> was called.</exception>
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
            if ((SSL_get_shutdown(_ssl) & SSL_SENT_SHUTDOWN) != 0)
            {
                // OpenSSL would fail the write ("protocol is shutdown") and the session with it; the
                // session can still receive after its own close_notify, so this is only misuse.
                throw new InvalidOperationException("ShutdownAsync already sent close_notify: this session can still receive, but not send.");
            }

            if (datagram.IsEmpty || datagram.Length > MaxDatagramPayload)
            {
                throw new ArgumentException(
                    $"A datagram must hold 1 to {MaxDatagramPayload} bytes (MaxDatagramPayload at Mtu {_context.Settings.Mtu}); this one has {datagram.Length}. DTLS does not split datagrams.",
                    nameof(datagram));
            }

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
        return ReceiveQueuedAsync(buffer, cancellationToken);
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

    /// <summary>
    /// Reads the next record of the datagram being processed into <paramref name="plaintext"/>
    /// (<see cref="MaxRecordPlaintext"/> bytes): its length, <see cref="EndOfStream"/> at close_notify,
    /// <see cref="NoRecord"/> when the datagram holds no more records. A zero-length application_data
    /// record (RFC 5246 §6.2.1 allows them, e.g. as traffic-analysis padding) carries nothing and is
    /// skipped here: it must not read as the end of the stream.
    /// </summary>
    private unsafe int ReadRecord(Span<byte> plaintext)
    {
        fixed (byte* p = plaintext)
        {
            while (true)
            {
                ErrorQueue.Clear();
                int result = SSL_read_ex(_ssl, p, (nuint)plaintext.Length, out nuint read);
                RethrowCallbackException();
                if (result == 1)
                {
                    if (read == 0)
                    {
                        Interlocked.Increment(ref _ignoredRecords);
                        continue;
                    }

                    return (int)read;
                }

                int error = SSL_get_error(_ssl, result);
                switch (error)
                {
                    case SSL_ERROR_WANT_READ or SSL_ERROR_WANT_WRITE:
                        return NoRecord;
                    case SSL_ERROR_ZERO_RETURN:
                        _state = SessionState.Closed;
                        ErrorQueue.Clear();
                        return EndOfStream;
                    default:
                        throw RecordFailure(error, "SSL_read_ex");
                }
            }
        }
    }

    private const int NoRecord = -1;

    private const int EndOfStream = -2;

    private long _ignoredRecords;

    private long _rejectedDatagrams;

    /// <summary>Received datagrams dropped before OpenSSL saw them because their records were malformed (empty, truncated, an unknown record type, an encrypted record too short for the cipher) or, on a connected socket, because the datagram was larger than any DTLS record (over 18,445 bytes): forged or corrupt.</summary>
    public long RejectedDatagrams => Interlocked.Read(ref _rejectedDatagrams);

    /// <summary>A transport dropped a received datagram that cannot be DTLS (the socket driver: one too large for its buffer).</summary>
    internal void CountRejectedDatagram() => Interlocked.Increment(ref _rejectedDatagrams);

    /// <summary>
    /// Records received in otherwise good datagrams and skipped: zero-length application_data records
    /// (they carry no datagram) and plaintext warning alerts (they ask for nothing, and OpenSSL 3.0
    /// would fail a handshake on one; see the README's "Semantics worth knowing"). OpenSSL 3.2 and newer
    /// skip zero-length records inside libssl, so there only the warnings are counted
    /// (docs/openssl-versions.md).
    /// </summary>
    public long IgnoredRecords => Interlocked.Read(ref _ignoredRecords);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveQueuedAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            ThrowIfNotEstablished();
        }

        ReceiveQueue<PooledDatagram> reader = _received;
        while (true)
        {
            lock (_receiveGate)
            {
                if (reader.TryPeek(out PooledDatagram next))
                {
                    if (next.IsWakeUp)
                    {
                        reader.TryRead(out _);
                        continue;
                    }

                    if (next.Length > buffer.Length)
                    {
                        throw new ArgumentException($"The buffer holds {buffer.Length} bytes but the next datagram has {next.Length}; it is kept for a call with a larger buffer.", nameof(buffer));
                    }

                    // The gate (which Dispose's drain also takes) keeps the peeked datagram at the head.
                    if (reader.TryRead(out PooledDatagram taken))
                    {
                        taken.Buffer.AsSpan(0, taken.Length).CopyTo(buffer.Span);
                        taken.Return();
                        return taken.Length;
                    }
                }
            }

            // The wait takes no token, so that it reuses the queue's one waiter (a waiter per call
            // would be all of a steady-state round trip's allocations, docs/benchmarks.md): a
            // cancellation wakes it with a marker the loop above skips. The registration reuses the
            // token source's nodes.
            bool more;
            if (cancellationToken.CanBeCanceled)
            {
                using (cancellationToken.UnsafeRegister(static s => ((DtlsSession)s!)._received.TryWrite(default), this))
                {
                    more = await reader.WaitToReadAsync().ConfigureAwait(false);
                }

                cancellationToken.ThrowIfCancellationRequested();
            }
            else
            {
                more = await reader.WaitToReadAsync().ConfigureAwait(false);
            }

            if (!more)
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
    internal bool ProcessDatagram(ReadOnlySpan<byte> datagram) =>
        // A server with PskKeyLookupAsync holds the ClientKeyExchange while its key is looked up
        // (DtlsSession.PskLookup.cs); what it holds passes the record filter when it is fed.
        HoldForPskLookup(datagram) ? IsAlive : FilterAndProcess(datagram);

    private bool FilterAndProcess(ReadOnlySpan<byte> datagram)
    {
        // A forged or corrupt datagram must not reach OpenSSL, which ends a session on some of them
        // (see DtlsRecordFilter): dropped and counted, whatever the transport.
        switch (DtlsRecordFilter.Inspect(datagram, Volatile.Read(ref _minimumEncryptedRecord), Volatile.Read(ref _dtls13Framing)))
        {
            case RecordVerdict.Malformed:
                Interlocked.Increment(ref _rejectedDatagrams);
                return IsAlive;
            case RecordVerdict.HasPlaintextWarnings:
                return ProcessWithoutPlaintextWarnings(datagram);
        }

        return ProcessAdmitted(datagram);
    }

    /// <summary>A datagram the filter passed and no key lookup holds: to OpenSSL, under the session's lock.</summary>
    private unsafe bool ProcessAdmitted(ReadOnlySpan<byte> datagram)
    {
        lock (_lock)
        {
            if (!IsAlive)
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

            return IsAlive;
        }
    }

    private bool IsAlive => _state is not (SessionState.Failed or SessionState.Disposed);

    /// <summary>Rare path: the datagram minus its plaintext warning alerts (see <see cref="DtlsRecordFilter.Inspect"/>).</summary>
    private bool ProcessWithoutPlaintextWarnings(ReadOnlySpan<byte> datagram)
    {
        byte[] rest = ArrayPool<byte>.Shared.Rent(datagram.Length);
        try
        {
            int length = DtlsRecordFilter.WithoutPlaintextWarnings(datagram, rest, out int removed);
            Interlocked.Add(ref _ignoredRecords, removed);
            return length == 0 ? IsAlive : FilterAndProcess(rest.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rest);
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
                _received.TryComplete(e);
                return;
            }

            if (n == NoRecord)
            {
                return;
            }

            if (n == EndOfStream)
            {
                _received.TryComplete();
                return;
            }

            EnqueuePlaintext(plaintext.AsSpan(0, n));
        }
    }

    /// <summary>
    /// The transport will deliver nothing more (its socket failed or was disposed under the session,
    /// or the listener reaped the session): a handshake fails and waiting receives end with
    /// <paramref name="e"/>. Sends are left to fail on their own, so that a close_notify can still go out.
    /// </summary>
    internal void OnTransportFailed(Exception e)
    {
        lock (_lock)
        {
            FailHandshakeLocked(e);
            _received.TryComplete(e);
        }
    }

    /// <summary>
    /// The owner of the transport reported it closed (<see cref="DtlsDatagramTransport.ReportClosed"/>):
    /// as <see cref="OnTransportFailed"/>, and a handshake not yet started fails when it starts.
    /// </summary>
    internal void OnTransportClosed(DtlsException e)
    {
        lock (_lock)
        {
            if (_state == SessionState.Created)
            {
                _state = SessionState.Failed;
                _failure = e;
            }

            FailHandshakeLocked(e);
            _received.TryComplete(e);
        }
    }

    /// <summary>
    /// One datagram to the transport. A transport's own exception other than a socket's (which
    /// <see cref="RethrowCallbackException"/> turns into a <see cref="DtlsException"/>) becomes a
    /// <see cref="DtlsException"/> here, so that a caller's transport cannot throw arbitrary types
    /// through <see cref="SendAsync"/> or a handshake.
    /// </summary>
    private void SendDatagram(ReadOnlySpan<byte> datagram)
    {
        try
        {
            _transport.SendFromSession(datagram);
        }
        catch (Exception e) when (e is not (SocketException or ObjectDisposedException or DtlsException))
        {
            throw new DtlsException($"The transport under the DTLS session with {PeerName} failed to send: {e.Message}", e);
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

    // The head of a record that OpenSSL's buffering BIO cut off at the end of a write (see
    // DatagramPacker); sent with the rest of the record on the next write or on the flush.
    private byte[]? _outboundTail;
    private int _outboundTailLength;

    /// <summary>
    /// Our BIO's write, under <see cref="_lock"/>: whole records, cut into datagrams of at most
    /// <see cref="DtlsOptions.Mtu"/> minus the IP/UDP headers (see <see cref="DatagramPacker"/>).
    /// </summary>
    internal void SendRecords(ReadOnlySpan<byte> records)
    {
        if (_abandoned)
        {
            return; // a callback failed mid-call: this flight must not complete the handshake for the peer
        }

        if (_outboundTail is not null)
        {
            byte[] joined = System.Buffers.ArrayPool<byte>.Shared.Rent(_outboundTailLength + records.Length);
            _outboundTail.AsSpan(0, _outboundTailLength).CopyTo(joined);
            records.CopyTo(joined.AsSpan(_outboundTailLength));
            int length = _outboundTailLength + records.Length;
            ReturnOutboundTail();
            try
            {
                SendWholeRecords(joined.AsSpan(0, length));
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(joined);
            }

            return;
        }

        SendWholeRecords(records);
    }

    /// <summary>Our BIO's flush: a flight is complete, so whatever is held goes out as it is.</summary>
    internal void FlushRecords()
    {
        if (_outboundTail is not null)
        {
            try
            {
                SendDatagram(_outboundTail.AsSpan(0, _outboundTailLength));
            }
            finally
            {
                ReturnOutboundTail();
            }
        }
    }

    private void SendWholeRecords(ReadOnlySpan<byte> records)
    {
        int limit = _context.Settings.Mtu - HeaderOverhead;
        while (!records.IsEmpty)
        {
            int length = DatagramPacker.NextDatagram(records, limit);
            if (length == 0)
            {
                _outboundTail = System.Buffers.ArrayPool<byte>.Shared.Rent(records.Length);
                _outboundTailLength = records.Length;
                records.CopyTo(_outboundTail);
                return;
            }

            SendDatagram(records.Slice(0, length));
            records = records.Slice(length);
        }
    }

    private void ReturnOutboundTail()
    {
        if (_outboundTail is { } tail)
        {
            _outboundTail = null;
            _outboundTailLength = 0;
            System.Buffers.ArrayPool<byte>.Shared.Return(tail);
        }
    }

    private DtlsException RecordFailure(int sslError, string call)
    {
        string socketError = SocketErrorText(sslError);
        OpenSslException errors = ErrorQueue.ToException(call);
        var failure = new DtlsException(
            sslError == SSL_ERROR_SYSCALL ? $"The DTLS session with {PeerName} {SyscallFailure(socketError, errors)}" : $"The DTLS session with {PeerName} failed",
            _lastAlert,
            errors);
        _state = SessionState.Failed;
        _failure = failure;
        _received.TryComplete(failure);
        return failure;
    }
}
