using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>The handshake, pushed forward by received datagrams (the transport's receive loop) and by the retransmission timer.</summary>
public sealed partial class DtlsSession
{
    private async ValueTask HandshakeAsync(bool server, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        TaskCompletionSource handshake;
        lock (_lock)
        {
            ThrowIfDisposed();
            if (server != _context.IsServer)
            {
                throw new InvalidOperationException(server
                    ? "AcceptAsync needs a session made from a server DtlsContext."
                    : "ConnectAsync needs a session made from a client DtlsContext.");
            }

            if (_state == SessionState.Failed && _failure is DtlsException closed)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(closed); // the transport reported it closed before the handshake started
            }

            if (_state != SessionState.Created)
            {
                throw new InvalidOperationException("The handshake has already been started on this session.");
            }

            _state = SessionState.Handshaking;
            _transport.OnHandshakeStarted();
            _handshakeDeadline = Telemetry.After(_context.Settings.HandshakeTimeout);
            handshake = _handshake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            BeginHandshakeTelemetry();
            DriveHandshake();
        }

        using (cancellationToken.Register(() => FailHandshake(new OperationCanceledException(cancellationToken))))
        {
            await handshake.Task.ConfigureAwait(false);
        }
    }

    /// <summary>One <c>SSL_do_handshake</c>: true when done, false when it waits for the peer; throws on failure.</summary>
    private bool StepHandshake()
    {
        ErrorQueue.Clear();
        int result = SSL_do_handshake(_ssl);
        RethrowCallbackException();
        if (result == 1)
        {
            OnEstablished();
            return true;
        }

        int error = SSL_get_error(_ssl, result);
        if (error is SSL_ERROR_WANT_READ or SSL_ERROR_WANT_WRITE)
        {
            return PeerKeyDiffers() ? throw FailOnKeyMismatch() : false;
        }

        throw HandshakeFailure(error);
    }

    /// <summary>Over our BIO: advance the handshake with what was fed, complete or fail the waiter, arm the timer.</summary>
    private void DriveHandshake()
    {
        try
        {
            if (StepHandshake())
            {
                _handshake?.TrySetResult();
                // The waiter holds its own reference; an established session need not keep the
                // completed source (88 B per idle session, docs/benchmarks.md's idle memory).
                _handshake = null;
                return;
            }

            ScheduleTimer();
        }
        catch (Exception e)
        {
            FailHandshakeLocked(e);
        }
    }

    private void HandleRetransmitTimer()
    {
        ErrorQueue.Clear();
        int result = DTLSv1_handle_timeout(_ssl);
        RethrowCallbackException();
        if (result < 0)
        {
            throw HandshakeFailure(SSL_ERROR_SSL);
        }

        if (result > 0)
        {
            Interlocked.Increment(ref _retransmissions);
            CountRetransmission();
        }
    }

    private void ScheduleTimer()
    {
        DTLSv1_get_timeout(_ssl, out TimeSpan timer);
        // DTLSv1_get_timeout(3) is what is left of OpenSSL's own deadline on the wall clock; our queue
        // calls back on the context's TimeProvider (README, "Metrics, traces and logs": which clock is which).
        long due = timer == Timeout.InfiniteTimeSpan ? _handshakeDeadline : Math.Min(Telemetry.After(timer), _handshakeDeadline);
        Interlocked.Exchange(ref _timerDue, due);
        Telemetry.Timers.Schedule(this, due);
    }

    void IDtlsTimerTarget.OnTimer()
    {
        lock (_lock)
        {
            if (_state != SessionState.Handshaking)
            {
                return;
            }

            try
            {
                if (Telemetry.Now >= _handshakeDeadline)
                {
                    throw HandshakeTimedOut();
                }

                HandleRetransmitTimer();
                ScheduleTimer();
            }
            catch (Exception e)
            {
                FailHandshakeLocked(e);
            }
        }
    }

    private void FailHandshake(Exception e)
    {
        lock (_lock)
        {
            FailHandshakeLocked(e);
        }
    }

    private void FailHandshakeLocked(Exception e)
    {
        if (_state == SessionState.Handshaking)
        {
            EndHandshakeTelemetry(e);
            _state = SessionState.Failed;
            _failure = e;
            Interlocked.Exchange(ref _timerDue, 0);
            _received.TryComplete(e);
        }

        EndPskLookup();
        _handshake?.TrySetException(e);
    }

    private TimeoutException HandshakeTimedOut() =>
        new($"The DTLS handshake with {PeerName} did not complete within {_context.Settings.HandshakeTimeout.TotalSeconds:0.###} s (HandshakeTimeout); {Retransmissions} flights were retransmitted. "
            + (_transport.TransientErrorSummary ?? PossibleSilenceCauses));

    private string PossibleSilenceCauses => _context.IsServer
        ? "The client stopped answering."
        : "No valid answer came: no DTLS server is listening there, a firewall drops the datagrams, the server refused us silently (some servers do not send an alert for an unknown PSK identity, a PSK key mismatch or an unsupported version or cipher), or the path drops datagrams of this size (try a smaller Mtu).";

    private static string? InternedOrNull(string? value) => value is null ? null : string.Intern(value);

    private void OnEstablished()
    {
        _state = SessionState.Established;
        Interlocked.Exchange(ref _timerDue, 0);
        IsAuthenticated = true;
        // SSL_get_version and the cipher names are OpenSSL's static strings: interned, every
        // session shares one copy instead of holding its own (about 140 B per idle session).
        ProtocolVersion = InternedOrNull(SSL_get_version(_ssl));
        NegotiatedProtocol = (DtlsProtocolVersion)SSL_version(_ssl);
        Volatile.Write(ref _dtls13Framing, NegotiatedProtocol == DtlsProtocolVersion.Dtls13);
        CipherSuite = InternedOrNull(SSL_CIPHER_standard_name(SSL_get_current_cipher(_ssl)) ?? SSL_CIPHER_get_name(SSL_get_current_cipher(_ssl)));
        IsResumed = SSL_session_reused(_ssl) == 1;
        TargetHostName = _context.IsServer ? SSL_get_servername(_ssl, TLSEXT_NAMETYPE_host_name) : ((DtlsClientOptions)_context.Settings).TargetHost;
        // One record carries at most 2^14 bytes (RFC 6347 §4.1, RFC 5246 §6.2.1) whatever the MTU:
        // a larger SSL_write would fail inside OpenSSL ("dtls message too big").
        MaxDatagramPayload = (int)Math.Min(DTLS_get_data_mtu(_ssl), (nuint)MaxRecordPlaintext);
        Volatile.Write(ref _minimumEncryptedRecord, DtlsRecordFilter.MinimumEncryptedLength(CipherSuite, ProtocolVersion));
        unsafe
        {
            SSL_get0_alpn_selected(_ssl, out byte* alpn, out uint alpnLength);
            NegotiatedApplicationProtocol = alpnLength == 0 ? null : System.Text.Encoding.UTF8.GetString(alpn, (int)alpnLength);
            SrtpProfile = SSL_get_selected_srtp_profile_name(_ssl);
        }

        // Kept as OpenSSL's reference; RemoteCertificate makes the managed copy only when read.
        SafeX509Handle peer = SSL_get1_peer_certificate(_ssl);
        if (peer.IsInvalid)
        {
            peer.Dispose();
        }
        else
        {
            _remoteCertificateHandle?.Dispose();
            _remoteCertificateHandle = peer;
        }

        if (_resumptionKey is not null && _context.ClientSessions is { } cache)
        {
            SafeSslSessionHandle session = SSL_get1_session(_ssl);
            if (session.IsInvalid || SSL_SESSION_is_resumable(session) != 1)
            {
                session.Dispose();
            }
            else
            {
                cache.Store(_resumptionKey, session);
            }
        }

        ErrorQueue.Clear();
        EndHandshakeTelemetry(null);
    }

    private static readonly HashSet<int> CertificateAlerts = [42, 43, 44, 45, 46, 48];

    /// <summary>Builds the exception for a failed handshake from what the callbacks, the alerts and the error queue say.</summary>
    private DtlsException HandshakeFailure(int sslError)
    {
        // Read first: OpenSSL leaves a failed send()/recv()'s errno in place and queues nothing for it.
        string socketError = SocketErrorText(sslError);
        OpenSslException errors = ErrorQueue.ToException("SSL_do_handshake");
        if (_verification?.Failure is { } failure)
        {
            return new DtlsAuthenticationException(failure, _verification.Detail ?? failure.ToString(), _lastAlert, errors);
        }

        if (_lastAlert is { Sent: false } alert && CertificateAlerts.Contains(alert.Description))
        {
            return new DtlsAuthenticationException(DtlsCertificateFailure.RejectedByPeer, $"the peer rejected this endpoint's certificate ({alert.Name})", alert, errors);
        }

        if (_context.Settings is DtlsServerOptions { RequireClientCertificate: true } && errors.Errors.Any(e => e.Reason?.Contains("peer did not return a certificate", StringComparison.Ordinal) == true))
        {
            return new DtlsAuthenticationException(DtlsCertificateFailure.Missing, "the client sent no certificate although RequireClientCertificate is set", _lastAlert, errors);
        }

        if (_lastAlert is { Sent: false, Description: 20 or 51 } && (_context.Settings is DtlsClientOptions { HasPsk: true } or DtlsServerOptions { HasPskLookup: true }))
        {
            return new DtlsException($"The DTLS handshake with {PeerName} failed: the peer could not decrypt our Finished message, so the pre-shared keys differ", _lastAlert, errors);
        }

        string what = sslError == SSL_ERROR_SYSCALL ? SyscallFailure(socketError, errors) : "failed";
        return new DtlsException($"The DTLS handshake with {PeerName} {what}", _lastAlert, errors);
    }

    /// <summary>
    /// What <c>SSL_ERROR_SYSCALL</c> means here. Over our BIO a socket failure arrives as the BIO's own
    /// exception, so a SYSCALL with no errno and an empty error queue is OpenSSL 3.0 giving up without
    /// saying why: dtls1_reassemble_fragment and dtls1_process_out_of_seq_message return -1 without
    /// SSLfatal for a handshake fragment past its announced length or a length above
    /// dtls1_max_handshake_message_len (docs/robustness.md), and no alert goes out.
    /// </summary>
    private static string SyscallFailure(string socketError, OpenSslException errors) =>
        socketError.Length == 0 && errors.Errors.Count == 0
            ? "failed: OpenSSL stopped without an error or alert, which it does for a handshake message it will not reassemble (a fragment past the message's announced length, or a length above its limit)"
            : $"failed on the socket{socketError}";

    /// <summary>For <c>SSL_ERROR_SYSCALL</c>: ": " and the system's text for errno (for example "Connection refused"), or nothing.</summary>
    private static string SocketErrorText(int sslError)
    {
        int errno = sslError == SSL_ERROR_SYSCALL ? System.Runtime.InteropServices.Marshal.GetLastSystemError() : 0;
        return errno == 0 ? string.Empty : $": {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
    }
}
