using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// <see cref="DtlsListenerOptions.ReceiveLoops"/> above 1 (SO_REUSEPORT sockets on Linux): each peer stays on
/// one loop, and the peers are spread over the loops. The loop is seen from inside: the PSK lookup runs on the
/// receive loop's thread ("DTLS listener receive N") that processes the client's ClientKeyExchange.
/// </summary>
public class ReceiveLoopTests
{
    [Test]
    [Platform(Include = "Linux", Reason = "SO_REUSEPORT sockets per loop exist on Linux only; elsewhere the loops share one socket")]
    [CancelAfter(120_000)]
    public async Task Each_peer_stays_on_one_receive_loop_across_handshakes_and_peers_spread_over_the_loops(CancellationToken ct)
    {
        const int Clients = 16;
        byte[] key = RandomNumberGenerator.GetBytes(32);
        var loopsSeen = new ConcurrentDictionary<string, ConcurrentBag<string>>(StringComparer.Ordinal);
        DtlsServerOptions server = new()
        {
            HandshakeTimeout = TimeSpan.FromSeconds(20),
            SessionCacheSize = 0,
            EnableSessionTickets = false,
            PskKeyLookup = request =>
            {
                loopsSeen.GetOrAdd(Encoding.UTF8.GetString(request.Identity.Span), _ => []).Add(Thread.CurrentThread.Name ?? "?");
                return key;
            },
        };
        DtlsListenerOptions template = Options(server);
        await using DtlsListener listener = DtlsListener.Listen(new DtlsListenerOptions
        {
            LocalEndPoint = template.LocalEndPoint,
            ServerOptions = server,
            ReceiveLoops = 4,
        });
        await using EchoServer echo = EchoServer.Start(listener);

        for (int i = 0; i < Clients; i++)
        {
            using var context = new DtlsContext(new DtlsClientOptions { PskIdentityText = $"client-{i}", PskKey = key, HandshakeTimeout = TimeSpan.FromSeconds(20) });
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            socket.Connect(listener.LocalEndPoint);
            // Two handshakes from one address and port (one 4-tuple): the kernel hashes both to one socket.
            for (int handshake = 0; handshake < 2; handshake++)
            {
                await using var session = new DtlsSession(context, socket);
                await session.ConnectAsync(ct);
                await EchoAsync(session, RandomNumberGenerator.GetBytes(100), ct);
            }
        }

        string seen = string.Join("; ", loopsSeen.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}: {string.Join(", ", p.Value)}"));
        Assert.That(loopsSeen, Has.Count.EqualTo(Clients), seen);
        Assert.That(loopsSeen.Values.Select(v => v.Count), Is.All.EqualTo(2), seen);
        Assert.That(loopsSeen.Values.SelectMany(v => v), Is.All.StartsWith("DTLS listener receive "), $"the lookups ran on receive loops\n{seen}");
        Assert.That(loopsSeen.Values.Select(v => v.Distinct().Count()), Is.All.EqualTo(1), $"each peer stayed on one loop\n{seen}");
        Assert.That(loopsSeen.Values.Select(v => v.First()).Distinct().Count(), Is.GreaterThan(1), $"the peers were spread over the loops\n{seen}");
    }

    /// <summary>
    /// SO_REUSEPORT must not let a second listener (a second instance on the same port) silently take a
    /// share of the first one's peers: whatever either side's <see cref="DtlsListenerOptions.ReceiveLoops"/>,
    /// the second bind fails with AddressAlreadyInUse, as it does with one socket; and an unrelated process's
    /// SO_REUSEPORT socket on the port is refused the same way.
    /// </summary>
    [Test]
    [Platform(Include = "Linux", Reason = "SO_REUSEPORT sockets per loop exist on Linux only")]
    public async Task A_second_listener_on_a_port_in_use_fails_whatever_the_receive_loops([Values(1, 2, 4)] int firstLoops, [Values(1, 2, 4)] int secondLoops)
    {
        DtlsListenerOptions template = Options();
        await using DtlsListener first = DtlsListener.Listen(new DtlsListenerOptions { LocalEndPoint = template.LocalEndPoint, ServerOptions = template.ServerOptions, ReceiveLoops = firstLoops });
        var second = new DtlsListenerOptions { LocalEndPoint = first.LocalEndPoint, ServerOptions = template.ServerOptions, ReceiveLoops = secondLoops };
        SocketException? refused = Assert.Throws<SocketException>(() => DtlsListener.Listen(second).DisposeAsync().AsTask().GetAwaiter().GetResult());
        Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));
    }

    [Test]
    [Platform(Include = "Linux", Reason = "SO_REUSEPORT sockets per loop exist on Linux only")]
    public void A_port_held_by_another_reuseport_socket_is_refused()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        holder.SetRawSocketOption(1, 15, BitConverter.GetBytes(1)); // SOL_SOCKET, SO_REUSEPORT
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        DtlsListenerOptions template = Options();
        var options = new DtlsListenerOptions { LocalEndPoint = holder.LocalEndPoint!, ServerOptions = template.ServerOptions, ReceiveLoops = 2 };
        SocketException? refused = Assert.Throws<SocketException>(() => DtlsListener.Listen(options).DisposeAsync().AsTask().GetAwaiter().GetResult());
        Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));
    }
}
