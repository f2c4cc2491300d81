using System.Buffers;
using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>What <c>DtlsListener</c> needs from a session it drives over our datagram BIO.</summary>
public sealed partial class DtlsSession
{
    private QueuedDatagramBudget.Account? _queueBudget;
    private long _droppedOverBudget;

    /// <summary>The session's transport (for a listener's session, its <c>ListenerPeer</c>), for the native cookie callbacks.</summary>
    internal DtlsDatagramTransport Transport => _transport;

    /// <summary>Received datagrams dropped because the listener's <see cref="DtlsListenerOptions.MaxQueuedBytes"/> was reached (also counted in <see cref="DroppedDatagrams"/>).</summary>
    internal long DroppedOverBudget => Interlocked.Read(ref _droppedOverBudget);

    /// <summary>Charges this session's queued plaintext to the listener-wide budget; set once, before the handshake.</summary>
    internal void UseQueueBudget(QueuedDatagramBudget budget) => _queueBudget = budget.Open();

    /// <summary>
    /// Queues one decrypted datagram for the reader in a pooled buffer, within the listener's byte
    /// budget if there is one (the buffer is given back by <see cref="PooledDatagram.Return"/>).
    /// </summary>
    private void EnqueuePlaintext(ReadOnlySpan<byte> plaintext)
    {
        byte[] copy = ArrayPool<byte>.Shared.Rent(plaintext.Length);
        QueuedDatagramBudget.Account? budget = _queueBudget;
        if (budget is not null && !budget.TryTake(copy.Length))
        {
            ArrayPool<byte>.Shared.Return(copy);
            Interlocked.Increment(ref _droppedOverBudget);
            Interlocked.Increment(ref _droppedDatagrams);
            return;
        }

        plaintext.CopyTo(copy);
        var datagram = new PooledDatagram(copy, plaintext.Length, budget);
        if (!_received.TryWrite(datagram))
        {
            // The receive queue is full: the newest datagram is dropped, as UDP would drop it, and
            // counted. (A queue completed by a concurrent Dispose refuses it too: not counted.)
            if (IsAlive)
            {
                Interlocked.Increment(ref _droppedDatagrams);
            }

            datagram.Return();
        }
    }

    /// <summary>
    /// Hands OpenSSL a ClientHello whose cookie the listener has already verified, through
    /// <c>DTLSv1_listen</c> on this session's own <c>SSL</c>. The listener answers cookieless
    /// ClientHellos itself, so this SSL never sent the HelloVerifyRequest; <c>DTLSv1_listen</c> is the
    /// call that makes OpenSSL continue a handshake from a verified second ClientHello: it accepts
    /// message_seq 1, sets the handshake read/write sequence to 1 and the record write sequence to the
    /// ClientHello's (RFC 6347 §4.2.1, §4.2.2), marks the hello-verify step done and buffers the
    /// record for <see cref="AcceptAsync"/>. Feeding the datagram to <c>SSL_do_handshake</c> directly
    /// would not work: a fresh SSL expects message_seq 0 and would buffer the ClientHello as a future
    /// message, then answer with a ServerHello of message_seq 0 that the client ignores.
    /// Returns true when OpenSSL accepted the ClientHello (its cookie callback re-verified the cookie).
    /// </summary>
    internal unsafe bool TakeVerifiedClientHello(ReadOnlySpan<byte> datagram)
    {
        lock (_lock)
        {
            if (_state != SessionState.Created)
            {
                return false;
            }

            // DTLSv1_listen writes the peer's address here (BIO_dgram_get_peer); we already know it.
            using SafeBioAddrHandle client = ErrorQueue.ThrowIfInvalid(LibCrypto.BIO_ADDR_new(), "BIO_ADDR_new");
            fixed (byte* p = datagram)
            {
                _inbound = p;
                _inboundLength = datagram.Length;
                try
                {
                    ErrorQueue.Clear();
                    int result = DTLSv1_listen(_ssl, client);
                    RethrowCallbackException();
                    ErrorQueue.Clear();
                    return result == 1;
                }
                finally
                {
                    _inbound = null;
                    _inboundLength = 0;
                }
            }
        }
    }
}
