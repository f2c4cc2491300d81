namespace OpenSsl.Dtls;

/// <summary>Why <see cref="PendingHandshakeTable.TryAdmit"/> refused a handshake.</summary>
internal enum PendingRefusal
{
    /// <summary>Admitted.</summary>
    None,

    /// <summary><see cref="DtlsListenerOptions.MaxSessions"/> reached.</summary>
    Sessions,

    /// <summary><see cref="DtlsListenerOptions.MaxPendingHandshakes"/> reached and no handshake old enough to evict.</summary>
    Pending,

    /// <summary><see cref="DtlsListenerOptions.MaxPendingHandshakesPerAddress"/> reached for the peer's address.</summary>
    Address,

    /// <summary><see cref="DtlsListenerOptions.MaxPendingHandshakesPerPrefix"/> reached for the peer's network prefix.</summary>
    Prefix,
}

/// <summary>
/// The handshakes in progress (cookie verified, not finished), oldest first, counted per address and
/// per network prefix (issue 14: a thousand half-open handshakes from one address locked every new
/// client out for the whole handshake timeout). Admission checks the per-source limits first, so a
/// storm from one address or one network fills only its own share; when the whole table is full, the
/// oldest handshake is evicted if it has been pending for <see cref="DtlsListenerOptions.PendingHandshakeTimeoutWhenFull"/>,
/// which is the shorter half-open timeout under pressure. One lock: admissions and removals are once
/// per handshake, next to a key exchange that costs far more.
/// </summary>
internal sealed class PendingHandshakeTable
{
    private readonly Lock _lock = new();
    private readonly LinkedList<ListenerPeer> _oldestFirst = new();
    private readonly Dictionary<UInt128, int> _perAddress = [];
    private readonly Dictionary<UInt128, int> _perPrefix = [];
    private readonly int _max;
    private readonly int _maxPerAddress;
    private readonly int _maxPerPrefix;
    private readonly long _evictAfterTicks;

    public PendingHandshakeTable(DtlsListenerOptions options, DtlsTelemetry telemetry)
    {
        _max = options.MaxPendingHandshakes;
        _maxPerAddress = options.MaxPendingHandshakesPerAddress;
        _maxPerPrefix = options.MaxPendingHandshakesPerPrefix;
        _evictAfterTicks = telemetry.Ticks(options.PendingHandshakeTimeoutWhenFull);
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _oldestFirst.Count;
            }
        }
    }

    /// <summary>
    /// Adds <paramref name="peer"/> if the limits allow, possibly evicting the oldest handshake (returned
    /// in <paramref name="evicted"/>, already out of the table: the caller fails it).
    /// <paramref name="countsTowardSessions"/> is false for a restarted client's new handshake, which
    /// replaces an association rather than adding one.
    /// </summary>
    public PendingRefusal TryAdmit(ListenerPeer peer, bool countsTowardSessions, int established, int maxSessions, out ListenerPeer? evicted)
    {
        evicted = null;
        lock (_lock)
        {
            if (_perAddress.GetValueOrDefault(peer.AddressKey) >= _maxPerAddress)
            {
                return PendingRefusal.Address;
            }

            if (_perPrefix.GetValueOrDefault(peer.PrefixKey) >= _maxPerPrefix)
            {
                return PendingRefusal.Prefix;
            }

            ListenerPeer? victim = null;
            if (_oldestFirst.Count >= _max)
            {
                ListenerPeer oldest = _oldestFirst.First!.Value;
                if (peer.StartedAt - oldest.StartedAt < _evictAfterTicks)
                {
                    return PendingRefusal.Pending;
                }

                victim = oldest;
            }

            int pendingAfter = _oldestFirst.Count - (victim is null ? 0 : 1);
            if (countsTowardSessions && pendingAfter + established >= maxSessions)
            {
                return PendingRefusal.Sessions;
            }

            if (victim is not null)
            {
                RemoveLocked(victim);
                evicted = victim;
            }

            peer.PendingNode = _oldestFirst.AddLast(peer);
            Increment(_perAddress, peer.AddressKey);
            Increment(_perPrefix, peer.PrefixKey);
            return PendingRefusal.None;
        }
    }

    /// <summary>Removes the peer (established, failed, replaced or evicted); true if it was in the table.</summary>
    public bool Remove(ListenerPeer peer)
    {
        lock (_lock)
        {
            return RemoveLocked(peer);
        }
    }

    private bool RemoveLocked(ListenerPeer peer)
    {
        if (peer.PendingNode is not { } node)
        {
            return false;
        }

        _oldestFirst.Remove(node);
        peer.PendingNode = null;
        Decrement(_perAddress, peer.AddressKey);
        Decrement(_perPrefix, peer.PrefixKey);
        return true;
    }

    private static void Increment(Dictionary<UInt128, int> counts, UInt128 key) =>
        counts[key] = counts.GetValueOrDefault(key) + 1;

    private static void Decrement(Dictionary<UInt128, int> counts, UInt128 key)
    {
        int left = counts[key] - 1;
        if (left == 0)
        {
            counts.Remove(key);
        }
        else
        {
            counts[key] = left;
        }
    }
}
