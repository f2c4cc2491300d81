using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>The listener-wide byte budget for received plaintext that applications have not read yet (issue 14 item 4).</summary>
public class QueuedBytesBudgetTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task MaxQueuedBytes_bounds_what_sessions_hold_together_and_sessions_that_stopped_reading_cannot_starve_the_others(CancellationToken ct)
    {
        const long Budget = 65_536;
        const int Payload = 1_000; // held in a 1,024-byte pooled buffer
        await using DtlsListener listener = DtlsListener.Listen(Options(maxQueuedBytes: Budget));
        using DtlsContext clientContext = ClientContext();
        using Client stuckA = await ConnectAsync(listener, clientContext, ct);
        using DtlsSession serverA = await listener.AcceptAsync(ct);
        using Client stuckB = await ConnectAsync(listener, clientContext, ct);
        using DtlsSession serverB = await listener.AcceptAsync(ct);
        using Client reader = await ConnectAsync(listener, clientContext, ct);
        using DtlsSession serverC = await listener.AcceptAsync(ct);

        // A and B's applications never read. A alone may fill half the budget and then holds its
        // share of the other half (all of it: it is the only holder); B then gets half of that half.
        await SendAsync(listener, stuckA.Session, 100, Payload, ct);
        Assert.That(await WaitUntilAsync(() => listener.Statistics.DroppedOverMemoryBudget == 100 - 32, TimeSpan.FromSeconds(5), ct), Is.True, listener.Statistics.ToString());
        Assert.That(listener.Statistics.QueuedBytes, Is.EqualTo(32 * 1024));
        await SendAsync(listener, stuckB.Session, 100, Payload, ct);
        Assert.That(await WaitUntilAsync(() => listener.Statistics.DroppedOverMemoryBudget == 200 - 32 - 16, TimeSpan.FromSeconds(5), ct), Is.True, listener.Statistics.ToString());
        DtlsListenerStatistics full = listener.Statistics;
        TestContext.Out.WriteLine(full);
        Assert.That(full.QueuedBytes, Is.EqualTo((32 + 16) * 1024));
        Assert.That(full.DroppedOverMemoryBudget, Is.EqualTo(200 - 32 - 16));
        Assert.That(serverA.DroppedDatagrams, Is.EqualTo(100 - 32), "the session's own count includes them");

        // C's application reads: it still gets every datagram, one at a time, within its share.
        byte[] buffer = new byte[2048];
        for (int i = 0; i < 20; i++)
        {
            await reader.Session.SendAsync(new byte[Payload], ct);
            Assert.That(await serverC.ReceiveAsync(buffer, ct), Is.EqualTo(Payload));
        }

        Assert.That(listener.Statistics.QueuedBytes, Is.EqualTo((32 + 16) * 1024));
        Assert.That(listener.Statistics.QueuedBytes, Is.LessThanOrEqualTo(Budget));

        // What A held is what A's reader gets; reading gives the bytes back.
        int readA = 0;
        while (listener.Statistics.QueuedBytes > 16 * 1024)
        {
            Assert.That(await serverA.ReceiveAsync(buffer, ct), Is.EqualTo(Payload));
            readA++;
        }

        Assert.That(readA, Is.EqualTo(32));
        serverB.Dispose();
        Assert.That(listener.Statistics.QueuedBytes, Is.Zero, "a disposed session gives back what it held");
    }

    /// <summary>Sends <paramref name="count"/> datagrams in tens, each ten once the listener has read the previous ones from its socket (so that loopback drops none).</summary>
    private static async Task SendAsync(DtlsListener listener, DtlsSession client, int count, int size, CancellationToken ct)
    {
        for (int sent = 0; sent < count;)
        {
            long before = listener.Statistics.DatagramsReceived;
            int batch = Math.Min(10, count - sent);
            for (int i = 0; i < batch; i++)
            {
                await client.SendAsync(new byte[size], ct);
            }

            sent += batch;
            Assert.That(await WaitUntilAsync(() => listener.Statistics.DatagramsReceived >= before + batch, TimeSpan.FromSeconds(5), ct), Is.True);
        }
    }
}
