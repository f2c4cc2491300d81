using System.Runtime.CompilerServices;

namespace OpenSsl.Dtls;

/// <summary>Something that wants a call back at a point in time (a retransmission or a deadline).</summary>
internal interface IDtlsTimerTarget
{
    /// <summary>The timestamp (of its queue's <see cref="TimeProvider.GetTimestamp"/>) this target currently wants to be called at, or 0 for none.</summary>
    long TimerDue { get; }

    /// <summary>Called on a thread-pool thread at or after <see cref="TimerDue"/>.</summary>
    void OnTimer();
}

/// <summary>
/// One timer for every session in the process that uses the same <see cref="TimeProvider"/>
/// (docs/architecture.md, timers): a priority queue of due times (that provider's timestamps) served
/// by a single timer of that provider, armed only while something is due, so an idle process spends
/// no CPU. <see cref="Shared"/> serves <see cref="TimeProvider.System"/>; <see cref="For"/> gives
/// every other provider (a test's FakeTimeProvider) a queue of its own, kept as long as the provider. A target whose <see cref="IDtlsTimerTarget.TimerDue"/> moved is skipped when its stale
/// entry comes up; stale entries are also purged whenever the queue has doubled since the last purge,
/// so that they do not keep finished sessions reachable until their time passes.
/// </summary>
#pragma warning disable CA1001 // Process-wide singleton: its timer lives as long as the process.
internal sealed class DtlsTimerQueue
#pragma warning restore CA1001
{
    public static readonly DtlsTimerQueue Shared = new(TimeProvider.System);

    private static readonly ConditionalWeakTable<TimeProvider, DtlsTimerQueue> Others = new();

    private readonly Lock _gate = new();
    private readonly PriorityQueue<IDtlsTimerTarget, long> _queue = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private int _purgeAt = MinimumPurge;

    private const int MinimumPurge = 1024;

    private DtlsTimerQueue(TimeProvider time)
    {
        _time = time;
        // Not the creator's ExecutionContext: callbacks must not run inside whatever Activity or
        // logging scope happened to be current when the first session of the process started.
        using (ExecutionContext.SuppressFlow())
        {
            _timer = time.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>The queue of <paramref name="time"/>.</summary>
    public static DtlsTimerQueue For(TimeProvider time) =>
        ReferenceEquals(time, TimeProvider.System) ? Shared : Others.GetValue(time, t => new DtlsTimerQueue(t));

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
        // Rounded up (never early), and at least 1 ms, never 0: a provider's timer may fire a zero due
        // time inside Change, under _gate.
        long ms = Math.Max(1, (long)Math.Ceiling(_time.GetElapsedTime(_time.GetTimestamp(), due).TotalMilliseconds));
        _timer.Change(TimeSpan.FromMilliseconds(ms), Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Arms the timer for the earliest entry whose target still wants its time, dropping the stale
    /// entries in front of it (under <see cref="_gate"/>). Arming for a stale head woke the timer (its
    /// thread and a pool callback) once per finished handshake: sequential handshakes a millisecond
    /// apart each left an entry one retransmission timeout (1 s) ahead, so after the first second the
    /// timer fired about once per handshake to find nothing due (docs/benchmarks.md, client side,
    /// off-CPU view). A target that moves its time enqueues a new entry (<see cref="Schedule"/>), so
    /// a dropped entry is never its only one.
    /// </summary>
    private void ArmForFirstLive()
    {
        while (_queue.TryPeek(out IDtlsTimerTarget? head, out long next))
        {
            if (head.TimerDue == next)
            {
                Arm(next);
                return;
            }

            _queue.Dequeue();
        }
    }

    private void Fire()
    {
        List<IDtlsTimerTarget>? due = null;
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            while (_queue.TryPeek(out IDtlsTimerTarget? target, out long when) && when <= now)
            {
                _queue.Dequeue();
                if (target.TimerDue == when)
                {
                    (due ??= []).Add(target);
                }
            }

            _armedFor = long.MaxValue;
            ArmForFirstLive();
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
