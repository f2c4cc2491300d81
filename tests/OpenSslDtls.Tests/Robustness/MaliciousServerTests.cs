using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Robustness;

/// <summary>
/// Our client against a server played by a raw UDP socket that answers every ClientHello with hand-built
/// hostile datagrams no real server sends: garbage, broken or oversized HelloVerifyRequests, a new cookie
/// for every ClientHello forever, a ServerHello announcing a 16 MiB message, and fragment bombs (thousands
/// of one-byte fragments scattered over a large announced length, for this and future message sequence
/// numbers). Each handshake must end with a typed error (DtlsException or TimeoutException) within
/// HandshakeTimeout, with memory bounded and every native and callback handle released.
/// </summary>
[TestFixture]
public sealed class MaliciousServerTests : DtlsFixture
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>A record in epoch 0 (plaintext), DTLS 1.2.</summary>
    internal static byte[] Record(byte type, ulong sequence, ReadOnlySpan<byte> body)
    {
        byte[] record = new byte[13 + body.Length];
        record[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(1), 0xFEFD);
        BinaryPrimitives.WriteUInt64BigEndian(record.AsSpan(3), sequence & 0xFFFF_FFFF_FFFF);
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(11), checked((ushort)body.Length));
        body.CopyTo(record.AsSpan(13));
        return record;
    }

    /// <summary>A DTLS handshake fragment: type, announced length, message_seq, fragment offset, the fragment (RFC 6347 §4.2.2).</summary>
    internal static byte[] Handshake(byte type, int length, int messageSeq, int offset, ReadOnlySpan<byte> fragment)
    {
        byte[] message = new byte[12 + fragment.Length];
        message[0] = type;
        WriteUInt24(message.AsSpan(1), length);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), (ushort)messageSeq);
        WriteUInt24(message.AsSpan(6), offset);
        WriteUInt24(message.AsSpan(9), fragment.Length);
        fragment.CopyTo(message.AsSpan(12));
        return message;
    }

    private static void WriteUInt24(Span<byte> destination, int value)
    {
        destination[0] = (byte)(value >> 16);
        destination[1] = (byte)(value >> 8);
        destination[2] = (byte)value;
    }

    /// <summary>A HelloVerifyRequest body: server_version DTLS 1.0 (RFC 6347 §4.2.1), cookie length, cookie.</summary>
    private static byte[] HelloVerifyBody(ReadOnlySpan<byte> cookie, int? claimedCookieLength = null) =>
        [0xFE, 0xFF, (byte)(claimedCookieLength ?? cookie.Length), .. cookie];

    private static byte[] HelloVerifyRequest(byte[] body, ulong sequence, int? claimedLength = null) =>
        Record(22, sequence, Handshake(3, claimedLength ?? body.Length, 0, 0, body));

    /// <summary>A plausible ServerHello body: DTLS 1.2, random, empty session id, ECDHE-ECDSA-AES128-GCM-SHA256, no compression.</summary>
    private static byte[] ServerHelloBody(Random random)
    {
        byte[] body = new byte[2 + 32 + 1 + 2 + 1];
        body[0] = 0xFE;
        body[1] = 0xFD;
        random.NextBytes(body.AsSpan(2, 32));
        body[35] = 0xC0;
        body[36] = 0x2B;
        return body;
    }

    /// <summary>Records packed into datagrams of at most 1,400 bytes.</summary>
    private static IEnumerable<byte[]> Pack(IEnumerable<byte[]> records)
    {
        var datagram = new List<byte>();
        foreach (byte[] record in records)
        {
            if (datagram.Count + record.Length > 1400 && datagram.Count > 0)
            {
                yield return [.. datagram];
                datagram.Clear();
            }

            datagram.AddRange(record);
        }

        if (datagram.Count > 0)
        {
            yield return [.. datagram];
        }
    }

    /// <summary>Thousands of one-byte fragments at random offsets of a message announcing <paramref name="length"/> bytes, for message_seq 0 to <paramref name="lastSeq"/>.</summary>
    private static IEnumerable<byte[]> FragmentBomb(Random random, int length, int lastSeq, int fragments)
    {
        ulong sequence = 1;
        for (int i = 0; i < fragments; i++)
        {
            int seq = i % (lastSeq + 1);
            byte type = seq == 0 ? (byte)2 : (byte)11;
            yield return Record(22, sequence++, Handshake(type, length, seq, random.Next(length), [(byte)random.Next(256)]));
        }
    }

    /// <summary>The hostile servers: (name, answer to the n-th datagram from the client).</summary>
    private static IEnumerable<(string Name, Func<int, Random, IEnumerable<byte[]>> Answer)> Servers()
    {
        yield return ("random garbage", (_, r) => [RandomBytes(r, r.Next(1, 1500))]);
        yield return ("HelloVerifyRequest with a random body", (_, r) => [HelloVerifyRequest(RandomBytes(r, r.Next(1, 300)), 0)]);
        yield return ("HelloVerifyRequest whose cookie length runs past the message", (_, r) => [HelloVerifyRequest(HelloVerifyBody(RandomBytes(r, 5), claimedCookieLength: 200), 0)]);
        yield return ("HelloVerifyRequest cut short (announces 60 bytes, carries 10)", (_, r) => [HelloVerifyRequest(HelloVerifyBody(RandomBytes(r, 7)), 0, claimedLength: 60)]);
        yield return ("HelloVerifyRequest with an empty body", (_, _) => [HelloVerifyRequest([], 0)]);
        yield return ("HelloVerifyRequest with a 255-byte cookie and 8 KB after it", (_, r) => [HelloVerifyRequest([.. HelloVerifyBody(RandomBytes(r, 255)), .. RandomBytes(r, 8192)], 0)]);
        yield return ("HelloVerifyRequest announcing 16 MiB", (_, r) => [HelloVerifyRequest(HelloVerifyBody(RandomBytes(r, 32)), 0, claimedLength: 0xFFFFFF)]);
        yield return ("a new HelloVerifyRequest cookie for every ClientHello, forever", (n, r) => [HelloVerifyRequest(HelloVerifyBody(RandomBytes(r, 32)), (ulong)n)]);
        yield return ("ServerHello announcing 16 MiB", (n, r) => [Record(22, (ulong)n, Handshake(2, 0xFFFFFF, 0, 0, ServerHelloBody(r)))]);
        yield return ("ServerHello fragment at offset 16 MiB - 2", (n, r) => [Record(22, (ulong)n, Handshake(2, 0xFFFFFF, 0, 0xFFFFFD, [1, 2]))]);
        yield return ("fragment bomb: 4,000 one-byte fragments over 100 KB, message_seq 0-9", (n, r) => n < 3 ? Pack(FragmentBomb(r, 100_000, 9, 4_000)) : []);
        yield return ("fragment bomb: 4,000 one-byte fragments over 16 MiB, message_seq 0-9", (n, r) => n < 3 ? Pack(FragmentBomb(r, 0xFFFFFF, 9, 4_000)) : []);
        yield return ("fragment bomb: future message_seq only (1-30), 100 KB each", (n, r) => n < 3 ? Pack(FragmentBomb(r, 100_000, 30, 4_000).Where((_, i) => i % 31 != 0)) : []);
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Hostile_servers_end_the_handshake_with_a_typed_error_in_time_and_nothing_is_held([Values(5150)] int seed, CancellationToken cancellationToken)
    {
        using var context = new DtlsContext(new DtlsClientOptions
        {
            InsecureSkipCertificateValidation = true,
            HandshakeTimeout = HandshakeTimeout,
            InitialRetransmitTimeout = TimeSpan.FromMilliseconds(100),
            MaximumRetransmitTimeout = TimeSpan.FromMilliseconds(400),
        });

        // A first round warms up what the process keeps (thread pool, pools, OpenSSL's error strings).
        await RunAllAsync(context, seed, print: false, cancellationToken);
        (long managed, long rss, long native, long callbacks) before = Measure();
        await RunAllAsync(context, seed, print: true, cancellationToken);
        (long managed, long rss, long native, long callbacks) after = Measure();

        TestContext.Out.WriteLine($"seed {seed}: managed heap {before.managed / 1024} KB -> {after.managed / 1024} KB, RSS {before.rss / 1048576} MB -> {after.rss / 1048576} MB");
        Assert.Multiple(() =>
        {
            Assert.That(after.native, Is.EqualTo(before.native), $"seed {seed}: LiveNativeHandles");
            Assert.That(after.callbacks, Is.EqualTo(before.callbacks), $"seed {seed}: LiveCallbackHandles");
            Assert.That(after.managed - before.managed, Is.LessThan(16L << 20), $"seed {seed}: managed heap after a second round (bytes)");
            Assert.That(after.rss - before.rss, Is.LessThan(64L << 20), $"seed {seed}: process RSS after a second round (bytes)");
        });
    }

    internal static (long Managed, long Rss, long Native, long Callbacks) Measure()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using Process self = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: true), self.WorkingSet64, DtlsDiagnostics.LiveNativeHandles, DtlsDiagnostics.LiveCallbackHandles);
    }

    private static async Task RunAllAsync(DtlsContext context, int seed, bool print, CancellationToken cancellationToken)
    {
        // The servers run side by side, each on its own socket, each handshake bounded by HandshakeTimeout;
        // the outcomes are checked afterwards, on the test's thread (NUnit's assertion scopes are not
        // for concurrent tasks).
        Outcome[] outcomes = await Task.WhenAll(Servers().Select(server => RunOneAsync(context, seed, server.Name, server.Answer, cancellationToken)));
        Assert.Multiple(() =>
        {
            foreach (Outcome o in outcomes)
            {
                if (print)
                {
                    TestContext.Out.WriteLine(o);
                }

                Assert.That(o.ServerEnd, Is.InstanceOf<OperationCanceledException>(), $"seed {seed}, {o.Name}: the fake server ran until stopped");
                Assert.That(o.Failure, Is.InstanceOf<DtlsException>().Or.InstanceOf<TimeoutException>(), $"seed {seed}: a typed error; {o}");
                // Nothing went wrong with the socket: the error must not send anyone looking at the network.
                Assert.That(o.Failure?.Message, Does.Not.Contain("on the socket"), $"seed {seed}: the error names the cause; {o}");
                Assert.That(o.Took, Is.LessThan(HandshakeTimeout + TimeSpan.FromSeconds(1)), $"seed {seed}: within HandshakeTimeout; {o}");
                Assert.That(o.Received, Is.GreaterThan(0), $"seed {seed}, {o.Name}: the client did reach the fake server");
            }
        });
    }

    private sealed record Outcome(string Name, Exception? Failure, Exception? ServerEnd, TimeSpan Took, int Received, int Sent)
    {
        public override string ToString() =>
            $"{Name}: {Received} datagrams from the client, {Sent} sent to it; {Failure?.GetType().Name} after {Took.TotalMilliseconds:0} ms: {Failure?.Message}";
    }

    private static async Task<Outcome> RunOneAsync(DtlsContext context, int seed, string name, Func<int, Random, IEnumerable<byte[]>> answer, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        using Socket server = LoopbackPair.Bound();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int received = 0, sent = 0;
        Task serve = Task.Run(async () =>
        {
            byte[] buffer = new byte[65536];
            while (true)
            {
                SocketReceiveFromResult from = await server.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), stop.Token);
                foreach (byte[] datagram in answer(received++, random))
                {
                    await server.SendToAsync(datagram, SocketFlags.None, from.RemoteEndPoint, stop.Token);
                    sent++;
                }
            }
        }, CancellationToken.None);

        var clock = Stopwatch.StartNew();
        Exception? failure = await LoopbackPair.CaptureAsync(async () => await (await DtlsClient.ConnectAsync(server.LocalEndPoint!, context, cancellationToken)).DisposeAsync());
        TimeSpan took = clock.Elapsed;
        await stop.CancelAsync();
        Exception? serverEnd = await LoopbackPair.CaptureAsync(async () => await serve);
        return new Outcome(name, failure, serverEnd, took, received, sent);
    }
}
