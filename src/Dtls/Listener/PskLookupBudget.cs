using Microsoft.Extensions.Logging;

namespace OpenSsl.Dtls;

/// <summary>
/// The listener-wide bound on asynchronous PSK key lookups in flight
/// (<see cref="DtlsListenerOptions.MaxPendingPskLookups"/>). A place belongs to the HANDSHAKE that
/// started the lookup: taken when the lookup starts, given back when the lookup completes or fails,
/// or when the handshake ends first (completed, failed, timed out, disposed), even if the
/// application's lookup ignores its cancellation and never returns, so that such lookups cannot
/// use up the bound and refuse every later client. Over the bound the handshake is refused.
/// </summary>
internal sealed class PskLookupBudget(int max, ILogger logger, TimeProvider time)
{
    /// <summary>How long a cancelled lookup may take to return before it is counted as abandoned (it ignores its token).</summary>
    internal static readonly TimeSpan CancellationGrace = TimeSpan.FromSeconds(1);

    private readonly LogRateLimiter _abandonedLog = new(1, time);
    private int _inFlight;
    private long _refused;
    private long _abandoned;

    public int Max => max;

    public TimeProvider Time => time;

    /// <summary>Places taken now: handshakes whose lookup is running.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Handshakes refused because <see cref="Max"/> lookups were in flight.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Lookups still running <see cref="CancellationGrace"/> after their handshake ended and cancelled them.</summary>
    public long Abandoned => Interlocked.Read(ref _abandoned);

    public bool TryTake()
    {
        while (true)
        {
            int current = Volatile.Read(ref _inFlight);
            if (current >= max)
            {
                Interlocked.Increment(ref _refused);
                return false;
            }

            if (Interlocked.CompareExchange(ref _inFlight, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Give() => Interlocked.Decrement(ref _inFlight);

    /// <summary>A lookup outlived its handshake by <see cref="CancellationGrace"/>: counted, and logged (one line a second at most).</summary>
    public void ReportAbandoned(string peer)
    {
        long total = Interlocked.Increment(ref _abandoned);
        if (_abandonedLog.TryEnter(out _))
        {
            ListenerLog.PskLookupAbandoned(logger, peer, CancellationGrace.TotalSeconds, total);
        }
    }
}
