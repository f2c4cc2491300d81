using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// ClientHello fragments by hand, where no peer produces the case: before the cookie nothing is kept
/// and a fragmented ClientHello gets one HelloVerifyRequest; after it the fragments reach the session;
/// floods of fragments cost bounded, counted memory and lock nobody out.
/// </summary>
public class UnverifiedFragmentTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task A_cookieless_ClientHello_in_fragments_gets_one_HelloVerifyRequest_then_its_cookie_bearing_fragments_reach_the_session(
        [Values] bool reversed,
        CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options());
        using Socket raw = RawSocket();
        byte[] hello = await RawDtls.ClientHelloAsync();
        List<byte[]> first = Cut(hello, 50, firstRecordSequence: 0);
        Assert.That(first, Has.Count.GreaterThanOrEqualTo(3), "the captured ClientHello is long enough to cut in three");

        foreach (byte[] fragment in reversed ? Enumerable.Reverse(first) : first)
        {
            await raw.SendToAsync(fragment, listener.LocalEndPoint, ct);
        }

        byte[]? reply = await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct);
        Assert.That(RawDtls.IsHandshake(reply, RawDtls.HandshakeHelloVerifyRequest), Is.True);
        Assert.That(reply!.Length, Is.LessThanOrEqualTo(first[0].Length), "no amplification: the reply is no larger than the first fragment");
        Assert.That(await ReceiveAsync(raw, TimeSpan.FromMilliseconds(300), ct), Is.Null, "one HelloVerifyRequest for the whole fragmented ClientHello");
        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.CookiesSent, Is.EqualTo(1));
        Assert.That(stats.DroppedUnverifiedFragments, Is.EqualTo(first.Count - 1));
        Assert.That(stats.PendingHandshakes + stats.HandshakesStarted, Is.Zero, "nothing kept before the cookie");

        // The ClientHello with the cookie, in fragments: the first creates the session, which answers
        // only once the last has arrived (OpenSSL reassembles), duplicates and overlaps included.
        byte[] withCookie = RawDtls.WithCookie(hello, RawDtls.CookieOf(reply));
        List<byte[]> second = Cut(withCookie, 100, firstRecordSequence: 10);
        await raw.SendToAsync(second[0], listener.LocalEndPoint, ct);
        Assert.That(await ReceiveAsync(raw, TimeSpan.FromMilliseconds(300), ct), Is.Null, "no ServerHello before the ClientHello is whole");
        Assert.That(listener.Statistics.HandshakesStarted, Is.EqualTo(1));
        List<byte[]> rest = second.Skip(1).ToList();
        if (reversed)
        {
            rest.Reverse();
        }

        rest.Insert(0, rest[0]); // a duplicate
        rest.Insert(1, RawDtls.Fragment(withCookie, 90, 40, recordSequence: 30)); // overlapping the first and the second
        foreach (byte[] fragment in rest)
        {
            await raw.SendToAsync(fragment, listener.LocalEndPoint, ct);
        }

        Assert.That(RawDtls.IsHandshake(await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct), RawDtls.HandshakeServerHello), Is.True, "the reassembled ClientHello gets the ServerHello flight");
        Assert.That(listener.Statistics.HandshakesStarted, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task A_first_fragment_too_short_to_hold_the_cookie_is_dropped_and_counted([Values(1, 20, 40, 67)] int length, CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options());
        using Socket raw = RawSocket();
        byte[] hello = await RawDtls.ClientHelloAsync();
        byte[] withCookie = RawDtls.WithCookie(hello, new byte[32]);

        // version (2) + random (32) + session_id length (1) + cookie length (1) + cookie (32) = 68 bytes.
        await raw.SendToAsync(RawDtls.Fragment(withCookie, 0, length, recordSequence: 1), listener.LocalEndPoint, ct);

        Assert.That(await ReceiveAsync(raw, TimeSpan.FromMilliseconds(300), ct), Is.Null, "no reply");
        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.DroppedUnverifiedFragments, Is.EqualTo(1));
        Assert.That(stats.CookiesRejected + stats.CookiesSent + stats.PendingHandshakes, Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_flood_of_later_fragments_from_unknown_peers_leaves_no_state_and_a_client_connects_meanwhile(CancellationToken ct)
    {
        const int Sockets = 20;
        const int PerSocket = 500;
        await using DtlsListener listener = DtlsListener.Listen(Options());
        await using EchoServer echo = EchoServer.Start(listener);
        byte[] hello = RawDtls.WithCookie(await RawDtls.ClientHelloAsync(), new byte[32]);
        var random = new Random(20261129);
        var sockets = Enumerable.Range(0, Sockets).Select(_ => RawSocket()).ToArray();
        try
        {
            Task flood = Task.Run(
                () =>
                {
                    for (int i = 0; i < Sockets * PerSocket; i++)
                    {
                        int offset = random.Next(1, hello.Length - 40);
                        byte[] fragment = RawDtls.Fragment(hello, offset, random.Next(1, hello.Length - 25 - offset), recordSequence: i, messageLength: random.Next(offset + 200, 0xFFFFFF));
                        try
                        {
                            sockets[i % Sockets].SendTo(fragment, listener.LocalEndPoint);
                        }
                        catch (SocketException)
                        {
                            // The kernel's queue is full: loopback drops like a network would.
                        }
                    }
                },
                ct);
            using DtlsContext clientContext = ClientContext();
            using (Client client = await ConnectAsync(listener, clientContext, ct))
            {
                await EchoAsync(client.Session, [1, 2, 3], ct);
            }

            await flood;
            Assert.That(await WaitUntilAsync(() => listener.Statistics.DroppedUnverifiedFragments > Sockets * PerSocket / 2, TimeSpan.FromSeconds(10), ct), Is.True, listener.Statistics.ToString());
            foreach (Socket socket in sockets)
            {
                Assert.That(socket.Available, Is.Zero, "no reply to any fragment");
            }

            DtlsListenerStatistics stats = listener.Statistics;
            TestContext.Out.WriteLine(stats);
            Assert.That(stats.CookiesSent, Is.EqualTo(1), "only the real client's ClientHello was answered");
            Assert.That(stats.HandshakesStarted, Is.EqualTo(1));
            Assert.That(stats.ReassemblyBytes, Is.Zero);
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_verified_peers_fragment_bomb_is_bounded_per_handshake_and_counted_and_a_client_connects_meanwhile(CancellationToken ct)
    {
        const int Attackers = 5;
        const int Limit = 16_384;
        // The listener's clock is a FakeTimeProvider: the bombs' handshakes time out when the test says.
        var clock = new FakeTimeProvider();
        DtlsListenerOptions options = Options(ServerOptions(handshakeTimeout: TimeSpan.FromSeconds(30)), maxReassembly: Limit);
        options.TimeProvider = clock;
        await using DtlsListener listener = DtlsListener.Listen(options);
        await using EchoServer echo = EchoServer.Start(listener);
        byte[] hello = await RawDtls.ClientHelloAsync();
        var attackers = Enumerable.Range(0, Attackers).Select(_ => RawSocket()).ToArray();
        try
        {
            int sent = 0;
            foreach (Socket attacker in attackers)
            {
                // A real cookie exchange, then only the first fragment of a long ClientHello: a pending handshake.
                byte[] withCookie = RawDtls.WithCookie(hello, await RawDtls.GetCookieAsync(attacker, listener.LocalEndPoint, ct));
                await attacker.SendToAsync(RawDtls.Fragment(withCookie, 0, 100, recordSequence: 1, messageLength: 4000), listener.LocalEndPoint, ct);
                // Certificate messages announcing 8,000 bytes each (seq 2 to 12), one fragment each, and a
                // different length for a message already announced.
                for (int seq = 2; seq <= 12; seq++)
                {
                    await attacker.SendToAsync(RawDtls.Fragment(withCookie, 10, 50, recordSequence: seq, messageLength: 8000, messageSeq: seq, messageType: 11), listener.LocalEndPoint, ct);
                    sent++;
                }

                await attacker.SendToAsync(RawDtls.Fragment(withCookie, 10, 50, recordSequence: 13, messageLength: 4001, messageSeq: 1), listener.LocalEndPoint, ct);
                sent++;
            }

            Assert.That(await WaitUntilAsync(() => listener.Statistics.PendingHandshakes == Attackers && listener.Statistics.DroppedOverReassemblyLimit >= Attackers * 11, TimeSpan.FromSeconds(10), ct), Is.True, listener.Statistics.ToString());
            DtlsListenerStatistics during = listener.Statistics;
            TestContext.Out.WriteLine(during);
            // 4,000 (ClientHello) + 8,000 (one more message) fits 16,384; the next 8,000 would not.
            Assert.That(during.ReassemblyBytes, Is.EqualTo(Attackers * 12_000L));
            Assert.That(during.ReassemblyBytes, Is.LessThanOrEqualTo((long)Attackers * Limit));
            Assert.That(during.DroppedOverReassemblyLimit, Is.EqualTo(Attackers * 11L), "ten messages over the limit and one inconsistent length, per attacker");

            using DtlsContext clientContext = ClientContext();
            using (Client client = await ConnectAsync(listener, clientContext, ct))
            {
                await EchoAsync(client.Session, [1, 2, 3], ct);
            }

            clock.Advance(TimeSpan.FromSeconds(30));
            Assert.That(await WaitUntilAsync(() => listener.Statistics.PendingHandshakes == 0, TimeSpan.FromSeconds(10), ct), Is.True, "the bombs time out");
            Assert.That(listener.Statistics.ReassemblyBytes, Is.Zero, "and give their bytes back");
        }
        finally
        {
            foreach (Socket attacker in attackers)
            {
                attacker.Dispose();
            }
        }
    }

    /// <summary>Cuts a one-record handshake message into fragments of <paramref name="size"/> body bytes.</summary>
    private static List<byte[]> Cut(byte[] message, int size, long firstRecordSequence)
    {
        int bodyLength = message.Length - 25;
        var fragments = new List<byte[]>();
        for (int at = 0; at < bodyLength; at += size)
        {
            fragments.Add(RawDtls.Fragment(message, at, Math.Min(size, bodyLength - at), firstRecordSequence + fragments.Count));
        }

        return fragments;
    }
}
