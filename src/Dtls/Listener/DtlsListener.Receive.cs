using System.Net;
using System.Net.Sockets;

namespace OpenSsl.Dtls;

/// <summary>The receive loops: demultiplexing by peer address, and the stateless cookie exchange.</summary>
public sealed partial class DtlsListener
{
    /// <summary>How often a blocked receive wakes up to see whether the listener is stopping.</summary>
    private const int StopPollMilliseconds = 100;

    /// <summary>
    /// Starts a receive loop on a thread of its own. One dedicated thread, rather than async receives
    /// whose continuations hop between pool threads, keeps the native allocations of the sessions it
    /// drives (OpenSSL's handshake state, its read buffers) in one allocator arena: with glibc's
    /// per-thread arenas, memory freed after a storm of half-open handshakes on one thread is reused
    /// by the next storm instead of staying resident in a dozen arenas (issue 14 item 4).
    /// </summary>
    private Task StartReceiveLoop(Socket socket, int index)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        socket.ReceiveTimeout = StopPollMilliseconds;
        var thread = new Thread(() =>
        {
            try
            {
                ReceiveLoop(socket);
            }
            finally
            {
                done.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = $"DTLS listener receive {index}",
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>
    /// One loop: one buffer and one <see cref="SocketAddress"/>, both reused for every datagram, so
    /// the steady state allocates nothing: <c>ReceiveFrom</c> writes the sender's address into the
    /// same object, the peer table is looked up by it, and the datagram is processed in place
    /// (decrypted by the session straight out of this buffer) before the next receive.
    /// </summary>
    private void ReceiveLoop(Socket socket)
    {
        // One byte more than the largest datagram accepted: on Linux a longer datagram is truncated
        // to the buffer without an error, so a full buffer means "too large".
        byte[] buffer = GC.AllocateUninitializedArray<byte>(_options.MaxDatagramSize + 1, pinned: true);
        var address = new SocketAddress(socket.AddressFamily);
        int addressCapacity = address.Size;
        CancellationToken stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            int received;
            try
            {
                address.Size = addressCapacity;
                received = socket.ReceiveFrom(buffer, SocketFlags.None, address);
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.Interrupted)
            {
                continue; // The receive timeout: time to look at `stopping`.
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.NetworkReset or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
            {
                // An ICMP error about an earlier send to some peer: it says nothing about the others.
                continue;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.MessageSize)
            {
                // Windows reports a datagram larger than the buffer this way.
                Drop(ref _droppedTooLarge, DtlsInstruments.ReasonTooLarge);
                continue;
            }
            catch (SocketException e)
            {
                ListenerLog.ReceiveFailed(_logger, LocalEndPoint, e);
                // Not a busy loop if the error repeats.
                stopping.WaitHandle.WaitOne(50);
                continue;
            }

            try
            {
                OnDatagram(socket, address, buffer.AsSpan(0, received));
            }
#pragma warning disable CA1031 // One bad datagram, or a bug it triggers, must not stop the listener for every peer.
            catch (Exception e)
#pragma warning restore CA1031
            {
                ListenerLog.ProcessingFailed(_logger, e);
            }
        }
    }

    private void OnDatagram(Socket socket, SocketAddress address, ReadOnlySpan<byte> datagram)
    {
        Interlocked.Increment(ref _datagramsReceived);
        if (datagram.Length > _options.MaxDatagramSize)
        {
            Drop(ref _droppedTooLarge, DtlsInstruments.ReasonTooLarge);
            return;
        }

        if (_peers.TryGetValue(address, out ListenerPeer? peer))
        {
            // A known peer's epoch-0 ClientHello is a retransmission, a later fragment or a restart: the cookie decides.
            if (ClientHello.LooksLikeClientHello(datagram))
            {
                OnClientHello(socket, address, datagram, peer);
            }
            else
            {
                DeliverKnown(peer, datagram);
            }

            return;
        }

        OnClientHello(socket, address, datagram, null);
    }

    /// <summary>
    /// A datagram from a peer in the table. While a restarted client's new handshake is pending beside
    /// the established association (RFC 6347 §4.2.8; the old one is replaced only once the new one
    /// completes), plaintext records belong to the new handshake, and a datagram of encrypted records
    /// only may be either side's (the old session's data or the new handshake's Finished): both get it,
    /// and each drops what it cannot authenticate (a record that fails its MAC is discarded silently,
    /// RFC 6347 §4.1.2.7; a pending OpenSSL session buffers no next-epoch application data).
    /// </summary>
    private void DeliverKnown(ListenerPeer peer, ReadOnlySpan<byte> datagram)
    {
        if (peer.Successor is not { } successor)
        {
            Deliver(peer, datagram);
            return;
        }

        if (HasPlaintextRecord(datagram))
        {
            Deliver(successor, datagram);
            return;
        }

        Deliver(peer, datagram);
        Deliver(successor, datagram);
    }

    private static bool HasPlaintextRecord(ReadOnlySpan<byte> datagram)
    {
        while (datagram.Length >= ClientHello.RecordHeaderLength)
        {
            if (datagram[3] == 0 && datagram[4] == 0)
            {
                return true;
            }

            datagram = datagram.Slice(Math.Min(datagram.Length, ClientHello.RecordHeaderLength + ((datagram[11] << 8) | datagram[12])));
        }

        return false;
    }

    private void Deliver(ListenerPeer peer, ReadOnlySpan<byte> datagram)
    {
        if (!DtlsRecordFilter.IsWellFormed(datagram, peer.MinimumEncryptedRecord))
        {
            Drop(ref _droppedMalformed, DtlsInstruments.ReasonMalformed);
            return;
        }

        if (peer.Reassembly is { } reassembly)
        {
            if (!reassembly.TryAdmit(datagram, out int added))
            {
                Drop(ref _droppedReassembly, DtlsInstruments.ReasonOverReassemblyLimit);
                return;
            }

            CountReassembly(added);
        }

        long dropped = peer.Deliver(datagram, out long overBudget, out bool alive);
        if (dropped > overBudget)
        {
            Interlocked.Add(ref _droppedQueueFull, dropped - overBudget);
            DtlsInstruments.AddWithErrorType(_instruments.DroppedDatagrams, dropped - overBudget, _tags, DtlsInstruments.ReasonQueueFull);
        }

        if (overBudget > 0)
        {
            Interlocked.Add(ref _droppedOverBudget, overBudget);
            DtlsInstruments.AddWithErrorType(_instruments.DroppedDatagrams, overBudget, _tags, DtlsInstruments.ReasonOverMemoryBudget);
        }

        if (!alive)
        {
            // The session failed or was disposed; its owner or the idle reaper frees it.
            DtlsInstruments.AddWithErrorType(_instruments.DroppedDatagrams, 1, _tags, DtlsInstruments.ReasonSessionFailed);
        }
    }

    /// <summary>
    /// The cookie exchange (RFC 6347 §4.2.1), answered here in managed code rather than by
    /// <c>DTLSv1_listen</c> on a listener-wide <c>SSL</c>: the attack path never enters OpenSSL, needs
    /// no lock shared by all loops, and costs one parse and one HMAC; OpenSSL sees only ClientHellos
    /// whose sender has proven it receives at its address. Before that proof nothing is stored and the
    /// only reply is a HelloVerifyRequest no larger than the request.
    /// <para>
    /// A ClientHello in fragments (RFC 6347 §4.2.3): the cookie is read from the first fragment; a
    /// cookieless one gets its HelloVerifyRequest for that fragment only, the later fragments of an
    /// unknown peer are dropped without a reply (nothing is kept before the cookie: a client
    /// retransmits its whole flight), and once the session exists they go to it and OpenSSL
    /// reassembles the message, in any order, duplicated or overlapping.
    /// </para>
    /// </summary>
    private void OnClientHello(Socket socket, SocketAddress address, ReadOnlySpan<byte> datagram, ListenerPeer? known)
    {
        ClientHelloParse parse = ClientHello.TryParse(datagram, out ClientHello hello);
        switch (parse)
        {
            case ClientHelloParse.Malformed:
                Drop(ref _droppedMalformed, DtlsInstruments.ReasonMalformed);
                return;
            case ClientHelloParse.NotClientHello:
                Drop(ref _droppedNotClientHello, DtlsInstruments.ReasonNotClientHello);
                return;
            case ClientHelloParse.LaterFragment when known is not null:
                DeliverKnown(known, datagram);
                return;
            case ClientHelloParse.LaterFragment or ClientHelloParse.CookieNotInFragment:
                Drop(ref _droppedUnverifiedFragments, DtlsInstruments.ReasonUnverifiedFragment);
                return;
        }

        if (hello.Cookie.IsEmpty)
        {
            SendHelloVerifyRequest(socket, address, hello, datagram.Length);
            return;
        }

        if (!Cookies.Verify(address, hello))
        {
            // Forged, expired, issued to another address or port, or to a ClientHello with another
            // random: treated as no cookie (RFC 6347 §4.2.1).
            Interlocked.Increment(ref _cookiesRejected);
            _instruments.CookiesRejected.Add(1, _tags);
            SendHelloVerifyRequest(socket, address, hello, datagram.Length);
            return;
        }

        Interlocked.Increment(ref _cookiesVerified);
        _instruments.CookiesVerified.Add(1, _tags);
        if (known is not null)
        {
            // The ClientHello that created this association (or the pending new one), retransmitted:
            // the handshake goes on (OpenSSL discards the duplicate message); it never restarts it.
            if (known.StartedWith(hello.Random))
            {
                Deliver(known, datagram);
                return;
            }

            if (known.Successor is { } successor && successor.StartedWith(hello.Random))
            {
                Deliver(successor, datagram);
                return;
            }
        }

        // A new peer, or a known one with a new random and a valid cookie: a restarted client
        // (RFC 6347 §4.2.8).
        StartHandshake(socket, address, datagram, hello, known);
    }

    private void SendHelloVerifyRequest(Socket socket, SocketAddress address, in ClientHello hello, int requestLength)
    {
        Span<byte> cookie = stackalloc byte[CookieAuthority.CookieLength];
        Cookies.Write(address, hello, cookie);
        Span<byte> reply = stackalloc byte[ClientHello.HelloVerifyRequestLength];
        int length = hello.WriteHelloVerifyRequest(cookie, reply);
        if (length > requestLength)
        {
            // Never amplify: a spoofed source would turn the listener into a reflector. (A real
            // ClientHello is always longer than the 60-byte reply.)
            Drop(ref _droppedMalformed, DtlsInstruments.ReasonMalformed);
            return;
        }

        try
        {
            socket.SendTo(reply.Slice(0, length), SocketFlags.None, address);
            Interlocked.Increment(ref _datagramsSent);
            Interlocked.Increment(ref _cookiesSent);
            _instruments.CookiesSent.Add(1, _tags);
        }
        catch (SocketException)
        {
            Interlocked.Increment(ref _sendErrors);
        }
        catch (ObjectDisposedException)
        {
            // Stopping.
        }
    }

    private void CountReassembly(long bytes)
    {
        if (bytes != 0)
        {
            Interlocked.Add(ref _reassemblyBytes, bytes);
            _instruments.ReassemblyBytes.Add(bytes, _tags);
        }
    }

    private void Drop(ref long counter, string reason)
    {
        Interlocked.Increment(ref counter);
        DtlsInstruments.AddWithErrorType(_instruments.DroppedDatagrams, 1, _tags, reason);
        ListenerLog.Dropped(_logger, reason);
    }
}
