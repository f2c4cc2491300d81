using System.Net;
using System.Net.Sockets;

namespace OpenSsl.Dtls;

/// <summary>The receive loops: demultiplexing by peer address, and the stateless cookie exchange.</summary>
public sealed partial class DtlsListener
{
    /// <summary>
    /// One loop: one buffer and one <see cref="SocketAddress"/>, both reused for every datagram, so
    /// the steady state allocates nothing: <c>ReceiveFromAsync</c> writes the sender's address into
    /// the same object, the peer table is looked up by it, and the datagram is processed in place
    /// (decrypted by the session straight out of this buffer) before the next receive.
    /// </summary>
    private async Task ReceiveLoopAsync(Socket socket)
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
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, address, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.NetworkReset or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
            {
                // An ICMP error about an earlier send to some peer: it says nothing about the others.
                continue;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.MessageSize)
            {
                // Windows reports a datagram larger than the buffer this way.
                Drop(ref _droppedTooLarge, DtlsMetrics.ReasonTooLarge);
                continue;
            }
            catch (SocketException e)
            {
                ListenerLog.ReceiveFailed(_logger, LocalEndPoint, e);
                try
                {
                    // Not a busy loop if the error repeats.
                    await Task.Delay(50, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

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
            Drop(ref _droppedTooLarge, DtlsMetrics.ReasonTooLarge);
            return;
        }

        if (_peers.TryGetValue(address, out ListenerPeer? peer))
        {
            // A known peer's epoch-0 ClientHello is a retransmission or a restart: the cookie decides.
            if (ClientHello.LooksLikeClientHello(datagram))
            {
                OnClientHello(socket, address, datagram, peer);
            }
            else
            {
                Deliver(peer, datagram);
            }

            return;
        }

        OnClientHello(socket, address, datagram, null);
    }

    private void Deliver(ListenerPeer peer, ReadOnlySpan<byte> datagram)
    {
        if (!DtlsRecordFilter.IsWellFormed(datagram, peer.MinimumEncryptedRecord))
        {
            Drop(ref _droppedMalformed, DtlsMetrics.ReasonMalformed);
            return;
        }

        long dropped = peer.Deliver(datagram, out bool alive);
        if (dropped > 0)
        {
            Interlocked.Add(ref _droppedQueueFull, dropped);
            DtlsMetrics.Dropped(DtlsMetrics.ReasonQueueFull, dropped);
        }

        if (!alive)
        {
            // The session failed or was disposed; its owner or the idle reaper frees it.
            DtlsMetrics.Dropped(DtlsMetrics.ReasonSessionFailed);
        }
    }

    /// <summary>
    /// The cookie exchange (RFC 6347 §4.2.1), answered here in managed code rather than by
    /// <c>DTLSv1_listen</c> on a listener-wide <c>SSL</c>: the attack path never enters OpenSSL, needs
    /// no lock shared by all loops, and costs one parse and one HMAC; OpenSSL sees only ClientHellos
    /// whose sender has proven it receives at its address. Before that proof nothing is stored and the
    /// only reply is a HelloVerifyRequest no larger than the request.
    /// </summary>
    private void OnClientHello(Socket socket, SocketAddress address, ReadOnlySpan<byte> datagram, ListenerPeer? known)
    {
        ClientHelloParse parse = ClientHello.TryParse(datagram, out ClientHello hello);
        if (parse == ClientHelloParse.Malformed)
        {
            Drop(ref _droppedMalformed, DtlsMetrics.ReasonMalformed);
            return;
        }

        if (parse == ClientHelloParse.NotClientHello)
        {
            Drop(ref _droppedNotClientHello, DtlsMetrics.ReasonNotClientHello);
            return;
        }

        if (hello.Cookie.IsEmpty)
        {
            SendHelloVerifyRequest(socket, address, hello, datagram.Length);
            return;
        }

        if (!Cookies.Verify(address, hello.Cookie))
        {
            // Forged, expired, or issued to another address or port: treated as no cookie (RFC 6347 §4.2.1).
            Interlocked.Increment(ref _cookiesRejected);
            DtlsMetrics.CookiesRejected.Add(1);
            SendHelloVerifyRequest(socket, address, hello, datagram.Length);
            return;
        }

        Interlocked.Increment(ref _cookiesVerified);
        DtlsMetrics.CookiesVerified.Add(1);
        if (known is not null && known.StartedWith(hello.Random))
        {
            // The ClientHello that created this association, retransmitted: the handshake goes on
            // (OpenSSL discards the duplicate message); it never restarts it.
            Deliver(known, datagram);
            return;
        }

        // A new peer, or a known one with a new random and a valid cookie: a restarted client
        // (RFC 6347 §4.2.8), whose old association is replaced once the new one exists.
        StartHandshake(socket, address, datagram, hello.Random, known);
    }

    private void SendHelloVerifyRequest(Socket socket, SocketAddress address, in ClientHello hello, int requestLength)
    {
        Span<byte> cookie = stackalloc byte[CookieAuthority.CookieLength];
        Cookies.Write(address, cookie);
        Span<byte> reply = stackalloc byte[ClientHello.HelloVerifyRequestLength];
        int length = hello.WriteHelloVerifyRequest(cookie, reply);
        if (length > requestLength)
        {
            // Never amplify: a spoofed source would turn the listener into a reflector. (A real
            // ClientHello is always longer than the 60-byte reply.)
            Drop(ref _droppedMalformed, DtlsMetrics.ReasonMalformed);
            return;
        }

        try
        {
            socket.SendTo(reply.Slice(0, length), SocketFlags.None, address);
            Interlocked.Increment(ref _datagramsSent);
            Interlocked.Increment(ref _cookiesSent);
            DtlsMetrics.CookiesSent.Add(1);
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

    private void Drop(ref long counter, string reason)
    {
        Interlocked.Increment(ref counter);
        DtlsMetrics.Dropped(reason);
        ListenerLog.Dropped(_logger, reason);
    }
}
