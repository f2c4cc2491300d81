using System.Diagnostics;
using System.Net.Sockets;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// 100,000 malformed datagrams (mutated ClientHellos, mutated and truncated records, random bytes),
/// half of them from an established peer's own address: the listener neither crashes nor loses the
/// session, and still accepts new clients. Seeded, so a failure can be replayed; bounded in count and time.
/// </summary>
public class FuzzTests
{
    private const int Datagrams = 100_000;

    [Test]
    [CancelAfter(120_000)]
    public async Task A_hundred_thousand_fuzzed_datagrams_leave_the_listener_and_its_sessions_working(CancellationToken ct)
    {
        await using DtlsListener listener = DtlsListener.Listen(Options());
        await using EchoServer echo = EchoServer.Start(listener);
        using DtlsContext clientContext = ClientContext();
        using Client client = await ConnectAsync(listener, clientContext, ct);
        await EchoAsync(client.Session, [1, 2, 3], ct);

        byte[] hello = await RawDtls.ClientHelloAsync();
        byte[] record = [23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 40, .. new byte[40]];
        using Socket stranger = RawSocket();
        var random = new Random(20261125);
        var clock = Stopwatch.StartNew();
        long receivedBefore = listener.Statistics.DatagramsReceived;
        byte[] buffer = new byte[1500];

        for (int i = 0; i < Datagrams; i++)
        {
            byte[] seed = (i % 3) switch { 0 => hello, 1 => record, _ => [] };
            int length = Mutate(random, seed, buffer);
            Socket from = (i & 1) == 0 ? stranger : client.Socket;
            try
            {
                if (from == stranger)
                {
                    stranger.SendTo(buffer.AsSpan(0, length), SocketFlags.None, listener.LocalEndPoint);
                }
                else
                {
                    client.Socket.Send(buffer.AsSpan(0, length), SocketFlags.None);
                }
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.NoBufferSpaceAvailable or SocketError.WouldBlock or SocketError.ConnectionRefused)
            {
                // The kernel's queue is full: loopback drops like a network would.
            }

            if (i % 1000 == 999)
            {
                await Task.Yield(); // let the receive loop breathe; a flood faster than it is the limits tests' subject
            }
        }

        TestContext.Out.WriteLine($"{Datagrams} fuzzed datagrams sent in {clock.ElapsedMilliseconds} ms; {listener.Statistics}");
        Assert.That(listener.Statistics.DatagramsReceived - receivedBefore, Is.GreaterThan(Datagrams / 10), "the listener did read the flood");

        // The established session and the listener both still work. The client read nothing during the
        // flood, so its socket's queue is full of HelloVerifyRequests answering the fuzzed ClientHellos
        // sent from its address, and the kernel drops the first echo's reply (the statistics show the
        // request received and the reply sent): UDP, so try again.
        await EchoWithRetriesAsync(client.Session, [4, 5, 6], listener, ct);
        using Client late = await ConnectAsync(listener, clientContext, ct);
        await EchoAsync(late.Session, [7, 8, 9], ct);
        Assert.That(listener.Statistics.ActiveSessions, Is.EqualTo(2));
    }

    /// <summary>Writes a mutation of <paramref name="seed"/> (or random bytes when it is empty) into <paramref name="output"/>.</summary>
    private static int Mutate(Random random, byte[] seed, byte[] output)
    {
        if (seed.Length == 0)
        {
            int noise = random.Next(0, output.Length);
            random.NextBytes(output.AsSpan(0, noise));
            return noise;
        }

        int length = Math.Min(seed.Length, output.Length);
        seed.AsSpan(0, length).CopyTo(output);
        switch (random.Next(4))
        {
            case 0: // flip a few bytes anywhere, the headers included
                for (int n = random.Next(1, 6); n > 0; n--)
                {
                    output[random.Next(length)] ^= (byte)random.Next(1, 256);
                }

                return length;
            case 1: // truncate
                return random.Next(0, length);
            case 2: // absurd lengths in the record or handshake header
                output[random.Next(11, Math.Min(25, length))] = 0xFF;
                return length;
            default: // extend with noise
                int extended = Math.Min(output.Length, length + random.Next(1, 200));
                random.NextBytes(output.AsSpan(length, extended - length));
                return extended;
        }
    }
}
