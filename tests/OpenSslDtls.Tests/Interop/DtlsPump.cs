using System.Diagnostics;
using System.Net.Sockets;

namespace OpenSslDtls.Tests.Interop;

/// <summary>
/// Drives any number of <see cref="RawDtlsPeer"/>s (and a <see cref="LossyRelay"/>) on the calling thread:
/// expire timers, step every peer, run the test's own work, forward relayed datagrams, then wait in
/// <c>select()</c> until a socket is readable or the nearest retransmission timer is due. Everything is bounded
/// by one deadline and an iteration count: a stuck exchange fails with the state of each peer, it never hangs.
/// </summary>
internal sealed class DtlsPump
{
    private const int MaxIterations = 10_000;

    private readonly RawDtlsPeer[] _peers;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TimeSpan _budget;

    /// <param name="budget">Time allowed for everything this pump does, from now.</param>
    /// <param name="relay">A relay to forward datagrams through, if the peers talk through one.</param>
    /// <param name="peers">The peers to drive.</param>
    public DtlsPump(TimeSpan budget, LossyRelay? relay, params RawDtlsPeer[] peers)
    {
        _budget = budget;
        Relay = relay;
        _peers = peers;
    }

    /// <summary>The relay, if any.</summary>
    public LossyRelay? Relay { get; }

    /// <summary>Time since the pump was created.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Pumps until every peer finished its handshake or one failed.</summary>
    public void Handshake() =>
        Run(() => _peers.All(p => p.HandshakeDone) || _peers.Any(p => p.Failure is not null), "the handshake");

    /// <summary>Pumps until <paramref name="until"/> holds, calling <paramref name="work"/> once per round.</summary>
    /// <exception cref="TimeoutException">The deadline or the iteration bound was reached first.</exception>
    public void Run(Func<bool> until, string what, Action? work = null)
    {
        for (int iteration = 0; ; iteration++)
        {
            foreach (RawDtlsPeer peer in _peers)
            {
                peer.DriveTimer();
            }

            foreach (RawDtlsPeer peer in _peers)
            {
                peer.Step();
            }

            work?.Invoke();
            Relay?.Forward();
            if (until())
            {
                return;
            }

            TimeSpan left = _budget - _clock.Elapsed;
            if (left <= TimeSpan.Zero || iteration >= MaxIterations)
            {
                throw new TimeoutException(
                    $"{what} did not complete within {_budget.TotalSeconds:0.#} s ({iteration} rounds). " +
                    string.Join("; ", _peers.Select(p => p.ToString())) + (Relay is null ? string.Empty : $"; {Relay}"));
            }

            Wait(left);
        }
    }

    private void Wait(TimeSpan left)
    {
        var readable = new List<Socket>();
        TimeSpan wait = left;
        foreach (RawDtlsPeer peer in _peers.Where(p => p.IsActive))
        {
            readable.Add(peer.Socket);
            if (peer.NextTimeout is TimeSpan due && due < wait)
            {
                wait = due;
            }
        }

        if (Relay is not null)
        {
            readable.AddRange(Relay.Sockets);
        }

        if (readable.Count == 0)
        {
            throw new InvalidOperationException("Nothing left to wait for: every peer has failed or closed.");
        }

        Socket.Select(readable, null, null, wait);
    }
}
