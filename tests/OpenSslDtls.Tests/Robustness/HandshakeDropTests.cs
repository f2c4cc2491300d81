using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Robustness;

/// <summary>
/// Every single datagram of a handshake dropped in turn: datagram i of the client's, for every i the
/// handshake has, then datagram j of the server's. At Mtu 256 and 512 the server's flight is cut into
/// several datagrams, so a lost fragment is among the cases; full and resumed handshakes, on connected
/// sessions and through a listener with its cookie exchange (so the HelloVerifyRequest and the
/// ClientHello with the cookie are dropped too). Each handshake must complete by retransmission.
/// </summary>
[TestFixture]
public sealed class HandshakeDropTests : DtlsFixture
{
    [Test]
    [CancelAfter(90_000)]
    public async Task Every_handshake_datagram_dropped_in_turn_is_recovered(
        [Values(Topology.Connected, Topology.Listener)] Topology topology,
        [Values(256, 512)] int mtu,
        [Values(false, true)] bool resumed,
        CancellationToken cancellationToken)
    {
        string run = $"{topology}, Mtu {mtu}, {(resumed ? "resumed" : "full")} handshake";
        await using RelayedNetwork network = RelayedNetwork.Create(topology, seed: 0, RelayedNetwork.ServerOptions(mtu));
        using var clientContext = new DtlsContext(RelayedNetwork.ClientOptions(mtu, resumption: resumed));

        // A clean handshake first (it also fills the client's session cache), then one to count. The
        // count must come from a handshake without retransmissions: on a loaded machine a timer can
        // fire before a reply arrives and add a datagram, and the sweep would then aim past the end
        // of a normal handshake (seen once under a full CI matrix). So it is redone, a bounded number of times.
        (int fromClient, int fromServer) = (0, 0);
        for (int i = 0, counted = 0; counted == 0; i++)
        {
            Assert.That(i, Is.LessThan(6), $"{run}: no clean handshake without retransmissions in 5 tries");
            await using RelayedPair clean = await network.ConnectAsync(clientContext, Impairments.None, cancellationToken);
            Assert.That(clean.Succeeded, Is.True, $"{run}: a clean handshake; client {clean.ClientFailure}, server {clean.ServerFailure}");
            Assert.That(clean.Client.IsResumed, Is.EqualTo(resumed && i > 0), $"{run}: resumption as intended");
            if (i > 0 && clean.Client.Retransmissions + clean.Server!.Retransmissions == 0)
            {
                (fromClient, fromServer) = (clean.Flow.ToServer.Seen, clean.Flow.ToClient.Seen);
                counted = 1;
            }
        }

        int maxSize = 0;
        var cases = Enumerable.Range(0, fromClient).Select(i => (FromClient: true, Index: i))
            .Concat(Enumerable.Range(0, fromServer).Select(j => (FromClient: false, Index: j)));
        foreach ((bool dropFromClient, int index) in cases)
        {
            string what = $"{run}: {(dropFromClient ? "client" : "server")} datagram {index} of {(dropFromClient ? fromClient : fromServer)} dropped";
            bool needless = false;
            await using RelayedPair pair = await network.ConnectAsync(
                clientContext, Impairments.None, cancellationToken, drop: (fromClient, i, datagram) =>
                {
                    bool drop = fromClient == dropFromClient && i == index;
                    needless |= drop && topology == Topology.Listener && IsLaterFragmentOfFirstClientHello(datagram.Span);
                    return drop;
                });
            Assert.That(pair.Succeeded, Is.True, $"{what}: client {pair.ClientFailure}, server {pair.ServerFailure}; {pair.Flow}");
            Assert.Multiple(() =>
            {
                Assert.That(pair.Client.IsResumed, Is.EqualTo(resumed), what);
                Assert.That(pair.Flow.ToServer.Dropped + pair.Flow.ToClient.Dropped, Is.EqualTo(1), what);
                if (!needless)
                {
                    Assert.That(pair.Client.Retransmissions + pair.Server!.Retransmissions, Is.GreaterThan(0), $"{what}: recovered by retransmission");
                }
            });
            byte[] payload = Traffic.Signed(index);
            await pair.Client.SendAsync(payload, cancellationToken);
            byte[] received = new byte[256];
            int n = await pair.Server!.ReceiveAsync(received, cancellationToken);
            Assert.That(received[..n], Is.EqualTo(payload), $"{what}: data flows");
            maxSize = Math.Max(maxSize, pair.Flow.MaxDatagram);
        }

        TestContext.Out.WriteLine($"{run}: {fromClient} client and {fromServer} server datagrams, each dropped once, every handshake completed; largest datagram {maxSize} bytes");
        Assert.That(maxSize, Is.LessThanOrEqualTo(mtu - 28), $"{run}: no datagram above the Mtu");
    }

    /// <summary>
    /// A later fragment (offset &gt; 0) of the client's first, cookieless ClientHello (message_seq 0):
    /// the listener answers that ClientHello statelessly from its first fragment (the cookie exchange
    /// needs only version, random and session_id), so losing a later one costs no retransmission.
    /// </summary>
    private static bool IsLaterFragmentOfFirstClientHello(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= 25 && datagram[0] == 22 && datagram[13] == 1
        && datagram[17] == 0 && datagram[18] == 0
        && (datagram[19] | datagram[20] | datagram[21]) != 0;
}
