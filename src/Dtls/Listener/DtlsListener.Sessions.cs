using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using OpenSsl.Interop;

namespace OpenSsl.Dtls;

/// <summary>The life of a peer: handshake, established, closed (by its owner, by the idle reaper, by a restart, or by the listener).</summary>
public sealed partial class DtlsListener
{
    /// <summary>
    /// A verified ClientHello: within the limits, a new peer and session, fed the ClientHello. The
    /// handshake then runs on this loop (each datagram the peer sends) and on the shared timer queue
    /// (retransmissions and the <see cref="DtlsOptions.HandshakeTimeout"/> deadline). A new handshake
    /// from the address of an established association runs beside it and replaces it only once it
    /// completes (RFC 6347 §4.2.8): a replayed ClientHello cannot end a live session.
    /// </summary>
    private void StartHandshake(Socket socket, SocketAddress address, ReadOnlySpan<byte> datagram, in ClientHello hello, ListenerPeer? known)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        if (hello.MessageLength > _options.MaxHandshakeReassemblyBytes)
        {
            Drop(ref _droppedReassembly, DtlsInstruments.ReasonOverReassemblyLimit);
            return;
        }

        // An established association stays until its successor completes; a pending one is replaced at once.
        ListenerPeer? predecessor = known is not null && known.State == ListenerPeer.StateEstablished ? known : null;
        ListenerPeer? replacing = predecessor is null ? known : null;
        var reassembly = new HandshakeReassemblyGuard(_options.MaxHandshakeReassemblyBytes);
        reassembly.Start(hello.MessageSequence, hello.MessageLength);
        var peer = new ListenerPeer(this, socket, address, hello, predecessor, reassembly);

        PendingRefusal refusal = _pendingHandshakes.TryAdmit(peer, countsTowardSessions: known is null, Volatile.Read(ref _established), _options.MaxSessions, out ListenerPeer? evicted);
        if (evicted is not null)
        {
            Interlocked.Increment(ref _handshakesEvicted);
            FailHandshake(evicted, evicted.Session, DtlsInstruments.FailureEvicted, new TimeoutException($"The DTLS handshake with {evicted.RemoteEndPoint} was evicted: the pending-handshake table was full (MaxPendingHandshakes {_options.MaxPendingHandshakes}) and it was the oldest, pending for longer than PendingHandshakeTimeoutWhenFull ({_options.PendingHandshakeTimeoutWhenFull.TotalSeconds:0.###} s)."));
        }

        switch (refusal)
        {
            case PendingRefusal.Pending:
                Refuse(ref _refusedPending, DtlsInstruments.ReasonOverPendingLimit, nameof(DtlsListenerOptions.MaxPendingHandshakes), _options.MaxPendingHandshakes);
                return;
            case PendingRefusal.Sessions:
                Refuse(ref _refusedSessions, DtlsInstruments.ReasonOverSessionLimit, nameof(DtlsListenerOptions.MaxSessions), _options.MaxSessions);
                return;
            case PendingRefusal.Address:
                Refuse(ref _refusedSource, DtlsInstruments.ReasonOverSourceLimit, nameof(DtlsListenerOptions.MaxPendingHandshakesPerAddress), _options.MaxPendingHandshakesPerAddress);
                return;
            case PendingRefusal.Prefix:
                Refuse(ref _refusedSource, DtlsInstruments.ReasonOverSourceLimit, nameof(DtlsListenerOptions.MaxPendingHandshakesPerPrefix), _options.MaxPendingHandshakesPerPrefix);
                return;
        }

        CountReassembly(reassembly.Bytes);
        DtlsSession session;
        try
        {
            session = NewSession(peer);
            session.UseQueueBudget(_queueBudget);
            session.UsePskLookupBudget(_pskLookups);
        }
        catch (Exception e) when (e is OpenSslException or ObjectDisposedException or ArgumentException)
        {
            ClosePeer(peer);
            ListenerLog.HandshakeFailed(_logger, peer.RemoteEndPoint, DtlsInstruments.FailureAborted, e);
            return;
        }

        // The session attached itself to the peer in its constructor (a full fence).
        if (peer.State == ListenerPeer.StateClosed)
        {
            // Evicted by another loop before its session was attached (several loops on one socket):
            // the evictor found no session to dispose. Attach is a full fence, so one of us sees the other.
            session.Dispose();
            return;
        }

        if (!Place(peer, replacing, predecessor))
        {
            // Another loop got there first (several loops on one socket): let its association stand.
            ClosePeer(peer);
            session.Dispose();
            return;
        }

        if (replacing is not null)
        {
            Replace(replacing);
        }

        Interlocked.Increment(ref _handshakesStarted);
        Exception? failure = null;
        try
        {
            if (session.TakeVerifiedClientHello(datagram))
            {
                _ = CompleteHandshakeAsync(peer, session, session.AcceptAsync(CancellationToken.None));
                return;
            }
        }
        catch (Exception e) when (e is OpenSslException or DtlsException or ObjectDisposedException)
        {
            failure = e;
        }

        FailHandshake(peer, session, DtlsInstruments.FailureProtocol, failure ?? new DtlsException($"OpenSSL did not accept the verified ClientHello of {peer.RemoteEndPoint}."));
    }

    /// <summary>
    /// Puts a new peer where datagrams find it: a new address in the table, a pending association's
    /// place, or beside an established one as its successor (superseding an earlier successor).
    /// </summary>
    private bool Place(ListenerPeer peer, ListenerPeer? replacing, ListenerPeer? predecessor)
    {
        if (predecessor is null)
        {
            return replacing is null ? _peers.TryAdd(peer.Address, peer) : _peers.TryUpdate(peer.Address, peer, replacing);
        }

        ListenerPeer? earlier = predecessor.Successor;
        if (!predecessor.TrySetSuccessor(peer, earlier))
        {
            return false;
        }

        if (earlier is not null)
        {
            FailHandshake(earlier, earlier.Session, DtlsInstruments.FailureAborted, new DtlsException($"The DTLS handshake with {earlier.RemoteEndPoint} was superseded by a newer ClientHello from the same address and port."));
        }

        return true;
    }

    private async Task CompleteHandshakeAsync(ListenerPeer peer, DtlsSession session, ValueTask handshake)
    {
        try
        {
            await handshake.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Whatever ended the handshake, the peer must be counted and freed.
        catch (Exception e)
#pragma warning restore CA1031
        {
            string reason = e switch
            {
                TimeoutException => DtlsInstruments.FailureTimeout,
                DtlsAuthenticationException => DtlsInstruments.FailureCertificate,
                DtlsException or OpenSslException => DtlsInstruments.FailureProtocol,
                _ => DtlsInstruments.FailureAborted,
            };
            FailHandshake(peer, session, reason, e);
            return;
        }

        if (!peer.TryEstablish())
        {
            return; // Replaced or stopped while the last flight was processed; whoever closed it disposed it.
        }

        _pendingHandshakes.Remove(peer);
        CountReassembly(-peer.ReleaseReassembly());
        Interlocked.Increment(ref _established);
        if (peer.Predecessor is { } old)
        {
            // The restarted client's handshake completed (its Finished verified): only now does it
            // replace the old association (RFC 6347 §4.2.8).
            old.ClearSuccessor(peer);
            if (!TakeAddress(peer, old))
            {
                ClosePeer(peer);
                session.Dispose();
                return;
            }

            if (old.State != ListenerPeer.StateClosed)
            {
                Replace(old);
            }
        }

        Interlocked.Increment(ref _handshakesCompleted);
        double seconds = Telemetry.Since(peer.StartedAt).TotalSeconds;
        CountRetransmissions(session);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            ListenerLog.HandshakeCompleted(_logger, peer.RemoteEndPoint, seconds * 1000, session.ProtocolVersion, session.CipherSuite); // two calls into OpenSSL: only when logged
        }

        if (_idleTicks > 0)
        {
            peer.ScheduleIdleCheck(peer.LastActivity + _idleTicks);
        }

        if (!_accepted.Writer.TryWrite(peer))
        {
            session.Dispose(); // The listener is stopping.
        }
    }

    /// <summary>A completed successor takes its predecessor's place in the table (or the free place, if the predecessor already left).</summary>
    private bool TakeAddress(ListenerPeer peer, ListenerPeer old)
    {
        while (true)
        {
            if (_peers.TryGetValue(peer.Address, out ListenerPeer? current))
            {
                if (current == peer)
                {
                    return true;
                }

                if (current != old)
                {
                    return false;
                }

                if (_peers.TryUpdate(peer.Address, peer, old))
                {
                    return true;
                }
            }
            else if (_peers.TryAdd(peer.Address, peer))
            {
                return true;
            }
        }
    }

    private void FailHandshake(ListenerPeer peer, DtlsSession? session, string reason, Exception e)
    {
        if (ClosePeer(peer) == ListenerPeer.StatePending)
        {
            Interlocked.Increment(ref _handshakesFailed);
            if (reason == DtlsInstruments.FailureTimeout)
            {
                Interlocked.Increment(ref _handshakesTimedOut);
            }

            if (session is not null)
            {
                CountRetransmissions(session);
            }

            ListenerLog.HandshakeFailed(_logger, peer.RemoteEndPoint, reason, e);
            // A refusal is the peer's doing; a handshake ended by the listener stopping is not.
            if (e is not (ObjectDisposedException or OperationCanceledException) && _logger.IsEnabled(LogLevel.Information) && _refusalLog.TryEnter(out long suppressed))
            {
                string text = RefusalText(e);
                ListenerLog.HandshakeRefused(_logger, peer.RemoteEndPoint, text, suppressed);
            }
        }

        // The listener's own reasons (evicted, superseded, stopping) are what the session's metrics and trace say.
        session?.AbortHandshake(reason, e);
        session?.Dispose();
    }

    // One line per refused handshake at the default level, at most 10 a second (a flood of ClientHellos
    // costs nothing to send); the rest are counted in the next line and in the metrics.
    private readonly LogRateLimiter _refusalLog;

    /// <summary>What a refusal log line says: the failure, and OpenSSL's reasons (e.g. "no shared cipher") if any.</summary>
    private static string RefusalText(Exception e) =>
        e.InnerException is OpenSslException errors && errors.Errors.Count > 0
            ? $"{e.Message} [{string.Join("; ", errors.Errors.Select(x => x.Reason ?? x.Text))}]"
            : e.Message;

    /// <summary>
    /// RFC 6347 §4.2.8: a ClientHello with a valid cookie from the address of a live association
    /// means the client restarted. The cookie proved it owns the address, so the old association
    /// goes: its readers see a <see cref="DtlsException"/>, it sends nothing more (its records would
    /// reach the new client), and it is freed.
    /// </summary>
    private void Replace(ListenerPeer old)
    {
        ClosePeer(old);
        Interlocked.Increment(ref _replaced);
        CountClosed("replaced");
        ListenerLog.PeerRestarted(_logger, old.RemoteEndPoint);
        if (old.Session is { } session)
        {
            session.OnTransportFailed(new DtlsException($"The peer {old.RemoteEndPoint} restarted: a new handshake from the same address and port replaced this session (RFC 6347 4.2.8)."));
            session.Dispose();
        }
    }

    /// <summary>The shared timer queue's call for an established peer: reaps it if it has been idle for <see cref="DtlsListenerOptions.IdleTimeout"/>.</summary>
    internal void OnIdleTimer(ListenerPeer peer)
    {
        if (peer.State != ListenerPeer.StateEstablished || peer.Session is not { } session)
        {
            return;
        }

        long due = peer.LastActivity + _idleTicks;
        if (Telemetry.Now < due)
        {
            // Traffic came since: one entry per idle period, not one per datagram.
            peer.ScheduleIdleCheck(due);
            return;
        }

        Interlocked.Increment(ref _idleReaped);
        CountClosed("idle");
        ListenerLog.IdleSessionReaped(_logger, peer.RemoteEndPoint, _options.IdleTimeout.TotalSeconds);
        session.OnTransportFailed(new TimeoutException($"The DTLS session with {peer.RemoteEndPoint} received nothing for {_options.IdleTimeout.TotalSeconds:0.###} s (IdleTimeout) and was closed."));
        session.Dispose(); // close_notify, then free: the peer leaves the table in OnPeerReleased.
    }

    /// <summary>The session released its transport (it was disposed): the peer leaves the table.</summary>
    internal void OnPeerReleased(ListenerPeer peer)
    {
        ClosePeer(peer);
        peer.Detach();
    }

    /// <summary>Closes the peer once (whoever comes first), keeps the counts right and removes it from the table.</summary>
    private int ClosePeer(ListenerPeer peer)
    {
        int previous = peer.TryClose();
        if (previous == ListenerPeer.StatePending)
        {
            _pendingHandshakes.Remove(peer);
        }
        else if (previous == ListenerPeer.StateEstablished)
        {
            Interlocked.Decrement(ref _established);
        }

        CountReassembly(-peer.ReleaseReassembly());
        peer.Predecessor?.ClearSuccessor(peer);

        // Only this peer's entry: after a restart the address already maps to its successor. If a
        // restarted client's new handshake is pending beside it, that one takes the place at once,
        // so that its datagrams still find it.
        if (peer.Successor is { State: ListenerPeer.StatePending } successor && _peers.TryUpdate(peer.Address, successor, peer))
        {
            return previous;
        }

        _peers.TryRemove(new KeyValuePair<SocketAddress, ListenerPeer>(peer.Address, peer));
        return previous;
    }

    private void CountRetransmissions(DtlsSession session)
    {
        long retransmissions = session.Retransmissions;
        if (retransmissions > 0)
        {
            Interlocked.Add(ref _retransmissions, retransmissions);
        }
    }

    private void Refuse(ref long counter, string reason, string limit, int value)
    {
        Interlocked.Increment(ref counter);
        DtlsInstruments.AddWithErrorType(_instruments.RefusedHandshakes, 1, _tags, reason);
        ListenerLog.Refused(_logger, limit, value);
    }

    private void CountClosed(string reason)
    {
        TagList tags = _tags;
        tags.Add("dtls.close.reason", reason);
        _instruments.ClosedSessions.Add(1, tags);
    }
}
