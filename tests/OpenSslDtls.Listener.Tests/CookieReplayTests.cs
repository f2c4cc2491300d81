using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// Replayed cookie-bearing ClientHellos from a live client's address (issue 14 item 2): the cookie
/// binds the ClientHello's version and random and expires (RFC 6347 §4.2.1), and a new
/// handshake from a live association's address replaces it only once it completes (§4.2.8). The
/// attacker's datagrams are injected through a relay, from the address the listener knows the client by.
/// </summary>
public class CookieReplayTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task A_replayed_ClientHello_with_a_new_random_is_refused_and_the_live_session_keeps_echoing(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options());
        await using EchoServer echo = EchoServer.Start(listener);
        await using var relay = new UdpRelay(listener.LocalEndPoint);
        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(relay.EndPoint, clientContext, ct);
        await EchoAsync(client.Session, [1], ct);
        byte[] seen = relay.FromClient.First(d => RawDtls.IsHandshake(d, 1) && d.Length > 25 + 36 && d[25 + 34] == 0 && d[25 + 35] == 32);

        for (int i = 0; i < 5; i++)
        {
            relay.Inject(RawDtls.WithRandom(seen, RandomNumberGenerator.GetBytes(32)));
            await EchoAsync(client.Session, [2, (byte)i], ct);
        }

        // The very same ClientHello (same random): a retransmission, which the live session ignores.
        relay.Inject(seen);
        await EchoAsync(client.Session, [3], ct);

        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.CookiesRejected, Is.EqualTo(5), "the cookie was made for another random");
        Assert.That(stats.HandshakesStarted, Is.EqualTo(1));
        Assert.That(stats.SessionsReplaced, Is.Zero);
        Assert.That(stats.ActiveSessions, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(40_000)]
    public async Task A_new_handshake_with_a_valid_cookie_from_a_live_address_runs_beside_the_session_and_replaces_it_only_when_complete(CancellationToken ct)
    {
        // The listener's clock is a FakeTimeProvider: the attacker's handshake times out when the test says.
        var clock = new FakeTimeProvider();
        DtlsListenerOptions options = Options(ServerOptions(handshakeTimeout: TimeSpan.FromSeconds(30)));
        options.TimeProvider = clock;
        await using DtlsListener listener = DtlsListener.Listen(options);
        await using EchoServer echo = EchoServer.Start(listener);
        await using var relay = new UdpRelay(listener.LocalEndPoint);
        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(relay.EndPoint, clientContext, ct);
        await EchoAsync(client.Session, [1], ct);

        // An on-path attacker with a valid cookie for its own ClientHello from the client's address
        // and port (it saw the HelloVerifyRequest): the handshake starts, but it cannot finish it.
        byte[] attack = RawDtls.WithRandom(await RawDtls.ClientHelloAsync(), RandomNumberGenerator.GetBytes(32));
        int before = relay.FromServer.Count;
        relay.Inject(attack);
        Assert.That(await WaitUntilAsync(() => relay.FromServer.Skip(before).Any(d => RawDtls.IsHandshake(d, RawDtls.HandshakeHelloVerifyRequest)), TimeSpan.FromSeconds(5), ct), Is.True);
        byte[] cookie = RawDtls.CookieOf(relay.FromServer.Skip(before).First(d => RawDtls.IsHandshake(d, RawDtls.HandshakeHelloVerifyRequest)));
        relay.Inject(RawDtls.WithCookie(attack, cookie));
        Assert.That(await WaitUntilAsync(() => listener.Statistics.HandshakesStarted == 2, TimeSpan.FromSeconds(5), ct), Is.True);

        // While the new handshake is pending beside it, the live session keeps working.
        Assert.That(listener.Statistics.PendingHandshakes, Is.EqualTo(1));
        for (int i = 0; i < 5; i++)
        {
            await EchoAsync(client.Session, [2, (byte)i], ct);
        }

        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.That(await WaitUntilAsync(() => listener.Statistics.PendingHandshakes == 0, TimeSpan.FromSeconds(10), ct), Is.True, "the attacker's handshake times out");
        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.SessionsReplaced, Is.Zero);
        Assert.That(stats.HandshakesFailed, Is.EqualTo(1));
        Assert.That(stats.ActiveSessions, Is.EqualTo(1));
        await EchoAsync(client.Session, [3], ct);

        // A genuinely restarted client (it crashed: its socket closed without close_notify; it comes
        // back on the same address and port with a complete new handshake) still replaces it.
        EndPoint clientAddress = client.Socket.LocalEndPoint!;
        EndPoint serverAddress = client.Socket.RemoteEndPoint!;
        client.Socket.Dispose();
        using var again = new Socket(clientAddress.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        again.Bind(clientAddress);
        again.Connect(serverAddress);
        using var restarted = new DtlsSession(clientContext, again);
        await restarted.ConnectAsync(ct);
        await EchoWithRetriesAsync(restarted, [4], listener, ct);
        Assert.That(await WaitUntilAsync(() => listener.Statistics.SessionsReplaced == 1, TimeSpan.FromSeconds(5), ct), Is.True);
        Assert.That(listener.Statistics.ActiveSessions, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_cookie_older_than_CookieLifetime_is_refused_and_a_fresh_one_starts_the_handshake([Values(1, 30, 600)] int lifetimeSeconds, CancellationToken ct)
    {
        // The listener's clock is a FakeTimeProvider (starting on a whole second): the lifetime passes
        // without waiting. The rotation (an hour) is longer than any lifetime, so only the lifetime refuses.
        TimeSpan lifetime = TimeSpan.FromSeconds(lifetimeSeconds);
        var clock = new FakeTimeProvider();
        DtlsListenerOptions options = Options(cookieLifetime: lifetime, cookieRotation: TimeSpan.FromHours(1));
        options.TimeProvider = clock;
        await using DtlsListener listener = DtlsListener.Listen(options);
        using var raw = RawSocket();
        using var onTime = RawSocket();
        byte[] hello = await RawDtls.ClientHelloAsync();
        byte[] cookie = await RawDtls.GetCookieAsync(raw, listener.LocalEndPoint, ct);
        byte[] onTimeCookie = await RawDtls.GetCookieAsync(onTime, listener.LocalEndPoint, ct);

        // The cookie carries its issue time in whole seconds: exactly the lifetime old it verifies...
        clock.Advance(lifetime);
        await onTime.SendToAsync(RawDtls.WithCookie(hello, onTimeCookie), listener.LocalEndPoint, ct);
        Assert.That(RawDtls.IsHandshake(await ReceiveAsync(onTime, TimeSpan.FromSeconds(5), ct), RawDtls.HandshakeServerHello), Is.True, "a cookie exactly CookieLifetime old verifies");

        // ...one second more and it is refused.
        clock.Advance(TimeSpan.FromSeconds(1));
        await raw.SendToAsync(RawDtls.WithCookie(hello, cookie), listener.LocalEndPoint, ct);
        byte[]? reply = await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct);
        Assert.That(RawDtls.IsHandshake(reply, RawDtls.HandshakeHelloVerifyRequest), Is.True, "an expired cookie gets a new HelloVerifyRequest");
        Assert.That(listener.Statistics.CookiesRejected, Is.EqualTo(1));

        await raw.SendToAsync(RawDtls.WithCookie(hello, RawDtls.CookieOf(reply!)), listener.LocalEndPoint, ct);
        Assert.That(RawDtls.IsHandshake(await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct), RawDtls.HandshakeServerHello), Is.True);
        Assert.That(listener.Statistics.HandshakesStarted, Is.EqualTo(2));
    }
}
