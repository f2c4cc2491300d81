using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Robustness;

/// <summary>
/// 30 % of datagrams duplicated and 30 % reordered (seeded), each way: handshakes complete, and
/// application data arrives without a single datagram delivered twice. DTLS delivers datagrams
/// possibly out of order or lost, but never twice: OpenSSL's replay window (RFC 6347 §4.1.2.6)
/// must discard every duplicated record, which the accounting in <see cref="Traffic"/> checks.
/// </summary>
[TestFixture]
public sealed class DuplicationReorderTests : DtlsFixture
{
    private const int Handshakes = 4;
    private const int Datagrams = 100;

    [Test]
    [CancelAfter(60_000)]
    public async Task Duplicated_and_reordered_datagrams_complete_handshakes_and_are_delivered_once(
        [Values(Topology.Connected, Topology.Listener)] Topology topology,
        CancellationToken cancellationToken)
    {
        int seed = topology == Topology.Listener ? 3031 : 3030;
        string run = $"seed {seed}, {topology}";
        await using RelayedNetwork network = RelayedNetwork.Create(topology, seed, RelayedNetwork.ServerOptions());
        using var clientContext = new DtlsContext(RelayedNetwork.ClientOptions());
        int duplicated = 0, reordered = 0;
        for (int i = 0; i < Handshakes; i++)
        {
            await using RelayedPair pair = await network.ConnectAsync(clientContext, new Impairments(Duplicate: 0.3, Reorder: 0.3), cancellationToken);
            Assert.That(pair.Succeeded, Is.True, $"{run}, handshake {i}: client {pair.ClientFailure}, server {pair.ServerFailure}; {pair.Flow}");
            TestContext.Out.WriteLine(await Traffic.ExchangeAsync(pair, network.Relay, Datagrams, $"{run}, pair {i}", cancellationToken));
            Assert.That(pair.Client.DroppedDatagrams + pair.Server!.DroppedDatagrams, Is.Zero, $"{run}: no receive queue overflowed");
            duplicated += pair.Flow.ToServer.Duplicated + pair.Flow.ToClient.Duplicated;
            reordered += pair.Flow.ToServer.Reordered + pair.Flow.ToClient.Reordered;
        }

        TestContext.Out.WriteLine($"{run}: {duplicated} datagrams duplicated, {reordered} reordered, none delivered twice");
        Assert.That(duplicated, Is.GreaterThan(Handshakes * Datagrams / 5), $"{run}: the relay duplicated datagrams");
        Assert.That(reordered, Is.GreaterThan(Handshakes * Datagrams / 5), $"{run}: the relay reordered datagrams");
    }
}
