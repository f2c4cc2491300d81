using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// Loss, duplication and reordering during handshakes through the listener, at MTUs where flights
/// fragment (issue 14, "keep and extend"): each single handshake datagram dropped in turn, in either
/// direction, with the cookie exchange, for full and resumed handshakes; and a seeded mix of
/// duplication and reordering. A relay does the damage; the retransmission timers are short so that
/// every case runs in well under a second.
/// </summary>
public class LossyHandshakeTests
{
    private static readonly TimeSpan Retransmit = TimeSpan.FromMilliseconds(100);

    [Test]
    [CancelAfter(180_000)]
    public async Task Every_single_handshake_datagram_dropped_in_turn_still_completes([Values(256, 512)] int mtu, [Values] bool resumed, CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options(Server(mtu, resumed)));
        await using EchoServer echo = EchoServer.Start(listener);
        await using var relay = new UdpRelay(listener.LocalEndPoint);
        using DtlsContext clientContext = Client(mtu, resumed);
        if (resumed)
        {
            await HandshakeAsync(relay, clientContext, ct); // the session to resume
        }

        // Count the handshake's datagrams, both ways, with nothing lost.
        int total = 0;
        relay.FromClientRewrite = d => { CountHandshake(d, ref total); return [d]; };
        relay.FromServerRewrite = d => { CountHandshake(d, ref total); return [d]; };
        bool wasResumed = await HandshakeAsync(relay, clientContext, ct);
        Assert.That(wasResumed, Is.EqualTo(resumed));
        TestContext.Out.WriteLine($"{total} handshake datagrams at Mtu {mtu}");
        Assert.That(total, Is.GreaterThanOrEqualTo(resumed ? 5 : 7), "the flights fragment at this MTU");

        for (int drop = 0; drop < total; drop++)
        {
            int index = -1;
            int dropped = 0;
            IReadOnlyList<byte[]> Damage(byte[] d)
            {
                if (IsHandshake(d) && Interlocked.Increment(ref index) == drop)
                {
                    Interlocked.Increment(ref dropped);
                    return [];
                }

                return [d];
            }

            relay.FromClientRewrite = Damage;
            relay.FromServerRewrite = Damage;
            Assert.That(await HandshakeAsync(relay, clientContext, ct), Is.EqualTo(resumed), $"datagram {drop} of {total} dropped");
            Assert.That(dropped, Is.EqualTo(1));
        }

        TestContext.Out.WriteLine($"{total} handshake datagrams, each dropped in turn; {listener.Statistics}");
        Assert.That(listener.Statistics.HandshakesCompleted, Is.EqualTo(total + (resumed ? 2 : 1)));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Thirty_percent_duplication_and_reordering_each_way_still_completes_and_echoes([Values(256, 1200)] int mtu, CancellationToken ct)
    {
        const int Handshakes = 20;
        int seed = 20261129 + mtu;
        await using DtlsListener listener = DtlsListener.Listen(Options(Server(mtu, resumption: false)));
        await using EchoServer echo = EchoServer.Start(listener);
        await using var relay = new UdpRelay(listener.LocalEndPoint);
        var random = new Random(seed);
        relay.FromClientRewrite = Shuffler(random);
        relay.FromServerRewrite = Shuffler(random);
        using DtlsContext clientContext = Client(mtu, resumption: false);
        for (int i = 0; i < Handshakes; i++)
        {
            Assert.That(await HandshakeAsync(relay, clientContext, ct), Is.False, $"seed {seed}, handshake {i}");
        }

        TestContext.Out.WriteLine($"seed {seed}: {listener.Statistics}");
        Assert.That(listener.Statistics.HandshakesCompleted, Is.EqualTo(Handshakes), $"seed {seed}");
    }

    /// <summary>A handshake datagram: its first record is a ChangeCipherSpec or a handshake record (the application's data and alerts are not).</summary>
    private static bool IsHandshake(byte[] datagram) => datagram.Length > 13 && datagram[0] is 20 or 22;

    private static void CountHandshake(byte[] datagram, ref int count)
    {
        if (IsHandshake(datagram))
        {
            Interlocked.Increment(ref count);
        }
    }

    /// <summary>
    /// Duplicates 30 % of handshake datagrams and holds back another 30 % until the next one has gone
    /// (a swap; a held last datagram of a flight goes with the next retransmission). Application data
    /// is not retransmitted by DTLS, so it passes untouched.
    /// </summary>
    private static Func<byte[], IReadOnlyList<byte[]>> Shuffler(Random random)
    {
        byte[]? held = null;
        var gate = new Lock();
        return d =>
        {
            lock (gate)
            {
                if (!IsHandshake(d))
                {
                    return [d];
                }

                var output = new List<byte[]>();
                double roll = random.NextDouble();
                if (roll < 0.3 && held is null)
                {
                    held = d;
                    return output;
                }

                output.Add(d);
                if (roll > 0.7)
                {
                    output.Add(d);
                }

                if (held is not null)
                {
                    output.Add(held);
                    held = null;
                }

                return output;
            }
        };
    }

    /// <summary>A client through the relay: handshake, one echo, close_notify. Returns whether it resumed.</summary>
    private static async Task<bool> HandshakeAsync(UdpRelay relay, DtlsContext context, CancellationToken ct)
    {
        using Client client = await ConnectAsync(relay.EndPoint, context, ct);
        await EchoAsync(client.Session, [7, 7, 7], ct);
        await client.Session.ShutdownAsync(ct);
        return client.Session.IsResumed;
    }

    private static DtlsServerOptions Server(int mtu, bool resumption) => new()
    {
        Certificate = Certificate,
        Mtu = mtu,
        HandshakeTimeout = TimeSpan.FromSeconds(20),
        InitialRetransmitTimeout = Retransmit,
        MaximumRetransmitTimeout = TimeSpan.FromSeconds(1),
        SessionCacheSize = resumption ? 1024 : 0,
        EnableSessionTickets = resumption,
    };

    private static DtlsContext Client(int mtu, bool resumption) => new(new DtlsClientOptions
    {
        TrustedCertificates = [Certificate],
        TargetHost = Host,
        Mtu = mtu,
        AllowSessionResumption = resumption,
        HandshakeTimeout = TimeSpan.FromSeconds(20),
        InitialRetransmitTimeout = Retransmit,
        MaximumRetransmitTimeout = TimeSpan.FromSeconds(1),
    });
}
