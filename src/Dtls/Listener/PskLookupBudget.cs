namespace OpenSsl.Dtls;

/// <summary>
/// The listener-wide bound on asynchronous PSK key lookups in flight
/// (<see cref="DtlsListenerOptions.MaxPendingPskLookups"/>): a lookup takes a place when it starts
/// and gives it back when it completes, fails or is cancelled. Over the bound the handshake is refused.
/// </summary>
internal sealed class PskLookupBudget(int max)
{
    private int _inFlight;
    private long _refused;

    public int Max => max;

    /// <summary>Lookups in flight now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Handshakes refused because <see cref="Max"/> lookups were in flight.</summary>
    public long Refused => Interlocked.Read(ref _refused);

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
}
