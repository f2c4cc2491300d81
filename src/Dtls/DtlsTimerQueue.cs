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
/// no CPU. Entries are never removed; a target whose <see cref="IDtlsTimerTarget.TimerDue"/> moved
/// is skipped when its stale entry comes up.
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

    private DtlsTimerQueue() => _timer = new Timer(_ => Fire(), null, Timeout.Infinite, Timeout.Infinite);

    public void Schedule(IDtlsTimerTarget target, long due)
    {
        lock (_gate)
        {
            _queue.Enqueue(target, due);
            if (due < _armedFor)
            {
                Arm(due);
            }
        }
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
