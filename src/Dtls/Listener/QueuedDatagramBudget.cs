namespace OpenSsl.Dtls;

/// <summary>
/// The bytes of received plaintext all of a listener's sessions may hold in their receive queues
/// together (<see cref="DtlsListenerOptions.MaxQueuedBytes"/>): a per-session count alone lets every
/// session whose application stops reading hold 256 × 16 KiB (issue 14). A datagram is charged the
/// size of the pooled buffer that holds it (what it really costs) when it is queued and given back
/// when the reader takes it, the queue drops it, or the session is disposed. Over the budget the new
/// datagram is dropped and counted; what is queued stays.
/// <para>
/// So that sessions whose applications stopped reading cannot take the whole budget from the others,
/// once half of it is in use a session may hold no more than its share of the other half: half the
/// budget divided by the number of sessions holding anything (an <see cref="Account"/> each).
/// </para>
/// </summary>
/// <param name="limit">The budget in bytes.</param>
/// <param name="gauge">The <c>dtls.server.queued_bytes</c> instrument, recorded with <paramref name="tags"/>.</param>
/// <param name="tags">The listener's attributes.</param>
internal sealed class QueuedDatagramBudget(long limit, System.Diagnostics.Metrics.UpDownCounter<long> gauge, System.Diagnostics.TagList tags)
{
    private long _used;
    private int _holders;

    /// <summary>Bytes now held in receive queues.</summary>
    public long Used => Interlocked.Read(ref _used);

    /// <summary>A session's account: what it holds, drawn from this budget.</summary>
    public Account Open() => new(this);

    private bool TryTake(Account account, int bytes)
    {
        long used = Interlocked.Add(ref _used, bytes);
        bool fair = used <= limit / 2 || account.Held + bytes <= limit / 2 / Math.Max(1, Volatile.Read(ref _holders) + (account.Held == 0 ? 1 : 0));
        if (used <= limit && fair)
        {
            if (Interlocked.Add(ref account.HeldBytes, bytes) == bytes)
            {
                Interlocked.Increment(ref _holders);
            }

            gauge.Add(bytes, tags);
            return true;
        }

        Interlocked.Add(ref _used, -bytes);
        return false;
    }

    private void Give(Account account, int bytes)
    {
        if (Interlocked.Add(ref account.HeldBytes, -bytes) == 0)
        {
            Interlocked.Decrement(ref _holders);
        }

        Interlocked.Add(ref _used, -bytes);
        gauge.Add(-bytes, tags);
    }

    /// <summary>One session's part of the budget. Takes happen on the receive loop; gives on any reader thread.</summary>
    internal sealed class Account(QueuedDatagramBudget budget)
    {
        internal long HeldBytes;

        public long Held => Interlocked.Read(ref HeldBytes);

        /// <summary>Takes <paramref name="bytes"/>; false (and nothing taken) over the budget or this session's share.</summary>
        public bool TryTake(int bytes) => budget.TryTake(this, bytes);

        public void Give(int bytes) => budget.Give(this, bytes);
    }
}
