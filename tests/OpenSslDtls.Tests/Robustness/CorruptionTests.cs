using System.Diagnostics;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Robustness;

/// <summary>
/// A fraction of datagrams damaged on the way, each way (seeded): a few bits flipped, cut short, or
/// random bytes appended. A handshake may fail (its unauthenticated messages can be damaged into
/// something a peer must reject), but only with a typed error within HandshakeTimeout; an established
/// session never ends because of a damaged datagram, and never delivers one.
/// </summary>
[TestFixture]
public sealed class CorruptionTests : DtlsFixture
{
    private const int Handshakes = 12;
    private const int Datagrams = 60;
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(3);

    [Test]
    [CancelAfter(120_000)]
    public async Task Damaged_datagrams_never_deliver_bad_plaintext_and_handshakes_end_typed_in_time(
        [Values(Topology.Connected, Topology.Listener)] Topology topology,
        [Values(0.05, 0.2)] double corrupt,
        CancellationToken cancellationToken)
    {
        int seed = 4000 + (int)(corrupt * 100) + (topology == Topology.Listener ? 1 : 0);
        string run = $"seed {seed}, {topology}, corrupt {corrupt:P0}";
        await using RelayedNetwork network = RelayedNetwork.Create(topology, seed, RelayedNetwork.ServerOptions(handshakeTimeout: HandshakeTimeout));
        using var clientContext = new DtlsContext(RelayedNetwork.ClientOptions(handshakeTimeout: HandshakeTimeout));
        int completed = 0, failed = 0, damaged = 0;
        var failures = new List<string>();
        for (int i = 0; i < Handshakes; i++)
        {
            var clock = Stopwatch.StartNew();
            await using RelayedPair pair = await network.ConnectAsync(clientContext, new Impairments(Corrupt: corrupt), cancellationToken);
            TimeSpan took = clock.Elapsed;
            if (!pair.Succeeded)
            {
                damaged += pair.Flow.ToServer.Corrupted + pair.Flow.ToClient.Corrupted;
                failed++;
                failures.Add($"{pair.ClientFailure?.GetType().Name}/{pair.ServerFailure?.GetType().Name}");
                foreach (Exception? e in new[] { pair.ClientFailure, pair.ServerFailure })
                {
                    Assert.That(e, Is.Null.Or.InstanceOf<DtlsException>().Or.InstanceOf<TimeoutException>(), $"{run}, handshake {i}: a typed failure; {pair.Flow}");
                }

                // The client's own timeout, plus the listener's wait for a session it never hands out.
                Assert.That(took, Is.LessThan((2 * HandshakeTimeout) + TimeSpan.FromSeconds(2)), $"{run}, handshake {i}: ended in time");
                continue;
            }

            completed++;
            TestContext.Out.WriteLine(await Traffic.ExchangeAsync(pair, network.Relay, Datagrams, $"{run}, pair {i}", cancellationToken));
            damaged += pair.Flow.ToServer.Corrupted + pair.Flow.ToClient.Corrupted;
        }

        TestContext.Out.WriteLine($"{run}: {completed} handshakes completed, {failed} failed ({string.Join(", ", failures)}), {damaged} datagrams damaged");
        Assert.That(damaged, Is.GreaterThan(0), $"{run}: the relay damaged datagrams");
        Assert.That(completed, Is.GreaterThan(0), $"{run}: some handshakes survive the damage");
    }
}
