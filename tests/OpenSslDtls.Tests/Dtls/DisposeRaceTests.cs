using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// Dispose racing receives that are taking datagrams off the queue. Each receive peeks at the next
/// datagram, copies it and returns its pooled buffer; Dispose returns every queued buffer. If both
/// could return the same buffer, the pool would hand it out twice and later datagrams would be
/// overwritten while being read: every datagram here carries its own SHA-256, so such corruption
/// fails the test, as would a receive that throws anything but ObjectDisposedException.
/// </summary>
[TestFixture]
public sealed class DisposeRaceTests : DtlsFixture
{
    private const int Rounds = 10_000;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(40);

    [Test]
    [CancelAfter(120_000)]
    public async Task Dispose_racing_receives_never_corrupts_a_datagram_or_throws_anything_else(CancellationToken cancellationToken)
    {
        long nativeBefore = DtlsDiagnostics.LiveNativeHandles;
        var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });
        var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true });
        var clock = Stopwatch.StartNew();
        int rounds = 0;
        long datagramsRead = 0;
        while (rounds < Rounds && clock.Elapsed < Budget)
        {
            rounds++;
            await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);
            for (int i = 0; i < 8; i++)
            {
                await pair.Client.SendAsync(SignedDatagram(rounds, i), cancellationToken);
            }

            // Two readers and a Dispose, released together.
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task<int>[] readers = [ReadUntilDisposedAsync(pair.Server, start.Task), ReadUntilDisposedAsync(pair.Server, start.Task)];
            Task dispose = Task.Run(async () => { await start.Task; pair.Server.Dispose(); }, cancellationToken);
            start.SetResult();
            await dispose;
            foreach (Task<int> reader in readers)
            {
                datagramsRead += await reader;
            }
        }

        // The contexts hold the resumption cache and certificate handles: they go last.
        clientContext.Dispose();
        serverContext.Dispose();
        TestContext.Out.WriteLine($"{rounds} rounds in {clock.Elapsed.TotalSeconds:0.0} s, {datagramsRead} datagrams read and verified before the dispose won");
        Assert.That(rounds, Is.GreaterThanOrEqualTo(500), "enough rounds ran to mean something");
        Assert.That(DtlsDiagnostics.LiveNativeHandles, Is.EqualTo(nativeBefore), "nothing leaked");
    }

    /// <summary>Round, index, 32 random bytes, then the SHA-256 of all of that.</summary>
    private static byte[] SignedDatagram(int round, int index)
    {
        byte[] datagram = new byte[8 + 32 + 32];
        BinaryPrimitives.WriteInt32BigEndian(datagram, round);
        BinaryPrimitives.WriteInt32BigEndian(datagram.AsSpan(4), index);
        RandomNumberGenerator.Fill(datagram.AsSpan(8, 32));
        SHA256.HashData(datagram.AsSpan(0, 40), datagram.AsSpan(40));
        return datagram;
    }

    private static async Task<int> ReadUntilDisposedAsync(DtlsSession session, Task start)
    {
        await start;
        byte[] buffer = new byte[128];
        int read = 0;
        while (true)
        {
            int n;
            try
            {
                n = await session.ReceiveAsync(buffer);
            }
            catch (ObjectDisposedException)
            {
                return read;
            }

            Assert.That(n, Is.EqualTo(72), "a whole datagram");
            Assert.That(SHA256.HashData(buffer.AsSpan(0, 40)), Is.EqualTo(buffer.AsSpan(40, 32).ToArray()), "the datagram was not overwritten while it was read");
            read++;
        }
    }
}
