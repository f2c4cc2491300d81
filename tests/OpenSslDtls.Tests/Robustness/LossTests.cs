using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Robustness;

/// <summary>
/// Loss at 10, 25 and 40 % in each direction (seeded) with application data flowing, to sessions on
/// connected sockets and through a <see cref="DtlsListener"/>: handshakes complete, and every datagram
/// that arrives is intact, new, and accounted for by the relay's count of what it let through.
/// </summary>
[TestFixture]
public sealed class LossTests : DtlsFixture
{
    private const int Handshakes = 3;
    private const int Datagrams = 100;

    [Test]
    [CancelAfter(60_000)]
    public async Task Handshakes_complete_and_data_is_accounted_for_under_loss(
        [Values(Topology.Connected, Topology.Listener)] Topology topology,
        [Values(0.10, 0.25, 0.40)] double loss,
        CancellationToken cancellationToken)
    {
        int seed = 1400 + (int)(loss * 100) + (topology == Topology.Listener ? 1 : 0);
        string run = $"seed {seed}, {topology}, loss {loss:P0}";
        await using RelayedNetwork network = RelayedNetwork.Create(topology, seed, RelayedNetwork.ServerOptions());
        using var clientContext = new DtlsContext(RelayedNetwork.ClientOptions());
        int dropped = 0;
        for (int i = 0; i < Handshakes; i++)
        {
            await using RelayedPair pair = await network.ConnectAsync(clientContext, new Impairments(Loss: loss), cancellationToken);
            Assert.That(pair.Succeeded, Is.True, $"{run}, handshake {i}: client {pair.ClientFailure}, server {pair.ServerFailure}; {pair.Flow}");
            TestContext.Out.WriteLine(await Traffic.ExchangeAsync(pair, network.Relay, Datagrams, $"{run}, pair {i}", cancellationToken));
            dropped += pair.Flow.ToServer.Dropped + pair.Flow.ToClient.Dropped;
        }

        Assert.That(dropped, Is.GreaterThan(0), $"{run}: the relay lost datagrams");
    }
}
