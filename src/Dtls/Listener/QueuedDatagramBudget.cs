namespace OpenSsl.Dtls;

/// <summary>
/// The bytes of received plaintext all of a listener's sessions may hold in their receive queues
/// together (<see cref="DtlsListenerOptions.MaxQueuedBytes"/>): a per-session count alone lets every
/// session whose application stops reading hold 256 × 16 KiB (issue 14). A datagram is charged the
/// size of the pooled buffer that holds it (what it really costs) when it is queued and given back
/// when the reader takes it, the queue drops it, or the session is disposed. Over the budget the new
/// datagram is dropped and counted; what is queued stays.
/// </summary>
internal sealed class QueuedDatagramBudget(long limit)
{
    private long _used;

    /// <summary>Bytes now held in receive queues.</summary>
    public long Used => Interlocked.Read(ref _used);

    /// <summary>Takes <paramref name="bytes"/> from the budget; false (and nothing taken) if that would exceed it.</summary>
    public bool TryTake(int bytes)
    {
        if (Interlocked.Add(ref _used, bytes) <= limit)
        {
            DtlsMetrics.QueuedBytes.Add(bytes);
            return true;
        }

        Interlocked.Add(ref _used, -bytes);
        return false;
    }

    public void Give(int bytes)
    {
        Interlocked.Add(ref _used, -bytes);
        DtlsMetrics.QueuedBytes.Add(-bytes);
    }
}
