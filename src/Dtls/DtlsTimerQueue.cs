using System.Diagnostics;

namespace OpenSsl.Dtls;

/// <summary>Something that wants a call back at a point in time (a retransmission or a deadline).</summary>
internal interface IDtlsTimerTarget
{
    /// <summary>The <see cref="Stopwatch"/> timestamp this target currently wants to be called at, or 0 for none.</summary>
    long TimerDue { get; }

    /// <summary>Called on a thread-pool thread at or after <see cref="TimerDue"/>.</summary>
    void OnTimer();
}

/// <summary>
/// One timer for every session in the process (docs/architecture.md, timers): a priority queue of due times served by a
/// single <see cref="Timer"/> that is armed only while something is due, so an idle process spends
/// no CPU. A target whose <see cref="IDtlsTimerTarget.TimerDue"/> moved is skipped when its stale
/// entry comes up; stale entries are also purged whenever the queue has doubled since the last purge,
/// so that they do not keep finished sessions reachable until their time passes.
/// </summary>
#pragma warning disable CA1001 // Process-wide singleton: its timer lives as long as the process.
internal sealed class DtlsTimerQueue
#pragma warning restore CA1001
{
    public static readonly DtlsTimerQueue Shared = new();

    private readonly Lock _gate = new();
    private readonly PriorityQueue<IDtlsTimerTarget, long> _queue = new();
    private readonly Timer _timer;
    private long _armedFor = long.MaxValue;
    private int _purgeAt = MinimumPurge;

    private const int MinimumPurge = 1024;

    private DtlsTimerQueue() => _timer = new Timer(_ => Fire(), null, Timeout.Infinite, Timeout.Infinite);

    public void Schedule(IDtlsTimerTarget target, long due)
    {
        lock (_gate)
        {
            if (_queue.Count >= _purgeAt)
            {
                PurgeStale();
            }

            _queue.Enqueue(target, due);
            if (due < _armedFor)
            {
                Arm(due);
            }
        }
    }

    /// <summary>
    /// Drops the entries whose target no longer wants their time (the handshake finished or failed, the
    /// timer moved). Without this a server session that never armed a retransmission stayed reachable
    /// until its HandshakeTimeout (30 s by default) after it was disposed, and a listener peer until its
    /// IdleTimeout: at a thousand handshakes a second, hundreds of megabytes (docs/robustness.md, the
    /// soak test). Rebuilding when the queue has doubled keeps Schedule amortised O(log n).
    /// </summary>
    private void PurgeStale()
    {
        var live = new List<(IDtlsTimerTarget Target, long Due)>(_queue.Count);
        foreach ((IDtlsTimerTarget target, long due) in _queue.UnorderedItems)
        {
            if (target.TimerDue == due)
            {
                live.Add((target, due));
            }
        }

        _queue.Clear();
        _queue.EnqueueRange(live);
        _purgeAt = Math.Max(MinimumPurge, 2 * _queue.Count);
    }

    private void Arm(long due)
    {
        _armedFor = due;
        long ms = Math.Max(0, (long)Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due).TotalMilliseconds + 1);
        _timer.Change(ms, Timeout.Infinite);
    }

    private void Fire()
    {
        List<IDtlsTimerTarget>? due = null;
        lock (_gate)
        {
            long now = Stopwatch.GetTimestamp();
            while (_queue.TryPeek(out IDtlsTimerTarget? target, out long when) && when <= now)
            {
                _queue.Dequeue();
                if (target.TimerDue == when)
                {
                    (due ??= []).Add(target);
                }
            }

            _armedFor = long.MaxValue;
            if (_queue.TryPeek(out _, out long next))
            {
                Arm(next);
            }
        }

        if (due is null)
        {
            return;
        }

        foreach (IDtlsTimerTarget target in due)
        {
            target.OnTimer();
        }
    }
}
