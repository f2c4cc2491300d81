using System.Diagnostics;
using System.Net.Sockets;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Robustness;

/// <summary>
/// 10,000 good and 10,000 failing handshakes on connected sockets, four at a time, then everything
/// the process holds back at a baseline taken after a warm-up: native and callback handles exactly,
/// thread-pool and process threads, managed heap and RSS within stated bounds. Bounded by count and
/// by <see cref="Budget"/>; what ran is printed, and a run too short to mean anything fails.
/// The failures are cheap ones, in rotation: no cipher in common (one round trip, handshake_failure),
/// a pinned certificate that does not match (a full handshake, then bad_certificate), and a silent
/// peer with a 100 ms HandshakeTimeout.
/// </summary>
[TestFixture]
[Category("Soak")]
public sealed class SoakTests : DtlsFixture
{
    private const int Target = 10_000;
    private const int Workers = 4;
    // Enough to fill what the process keeps by design: the client's session cache (256 sessions, one per
    // server address here), the thread pool, the array pools.
    private const int WarmUpRounds = 600;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(50);

    private const long ManagedBound = 16L << 20;
    private const long RssBound = 64L << 20;
    private const int ThreadBound = 8;

    [Test]
    [CancelAfter(120_000)]
    public async Task Thousands_of_good_and_failing_handshakes_leave_handles_threads_and_memory_at_baseline(CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });
        using var clientContext = new DtlsContext(new DtlsClientOptions { TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned], TargetHost = DtlsTestCertificates.Host });
        using var otherCipherServer = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned, CipherList = "ECDHE-ECDSA-AES256-GCM-SHA384" });
        using var otherCipherClient = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, CipherList = "ECDHE-ECDSA-AES128-GCM-SHA256" });
        using var wrongPinClient = new DtlsContext(new DtlsClientOptions { PinnedCertificateSha256 = [new string('A', 64)], AllowSessionResumption = false });
        using var impatientClient = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, HandshakeTimeout = TimeSpan.FromMilliseconds(100), InitialRetransmitTimeout = TimeSpan.FromMilliseconds(50) });

        var counts = new Counts();
        async Task GoodAsync()
        {
            await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);
            byte[] payload = Traffic.Signed(counts.Good);
            Expect((await pair.EchoAsync(payload, cancellationToken)).AsSpan().SequenceEqual(payload), "the echo came back unchanged", null);
            Interlocked.Increment(ref counts.Good);
        }

        async Task FailingAsync(int n)
        {
            Exception? failure;
            switch (n % 10)
            {
                case 0:
                {
                    await using LoopbackPair pair = LoopbackPair.Create(serverContext, wrongPinClient);
                    failure = (await pair.HandshakeExpectingFailureAsync(cancellationToken)).Client;
                    Expect(failure is DtlsAuthenticationException, "a pin that does not match fails with DtlsAuthenticationException", failure);
                    break;
                }

                case 5:
                {
                    (Socket silent, Socket socket) = LoopbackPair.CreateConnectedSockets();
                    using (silent)
                    using (socket)
                    {
                        await using var session = new DtlsSession(impatientClient, socket);
                        failure = await LoopbackPair.CaptureAsync(() => session.ConnectAsync(cancellationToken));
                    }

                    Expect(failure is TimeoutException, "a silent peer fails with TimeoutException", failure);
                    break;
                }

                default:
                {
                    await using LoopbackPair pair = LoopbackPair.Create(otherCipherServer, otherCipherClient);
                    failure = (await pair.HandshakeExpectingFailureAsync(cancellationToken)).Client;
                    Expect(failure is DtlsException and not DtlsAuthenticationException, "no cipher in common fails with DtlsException", failure);
                    break;
                }
            }

            Interlocked.Increment(ref counts.Failing);
        }

        var clock = Stopwatch.StartNew();
        await RunAsync(counts, WarmUpRounds, GoodAsync, FailingAsync, TimeSpan.MaxValue, clock, cancellationToken);
        Baseline before = Baseline.Take();
        int warmGood = counts.Good, warmFailing = counts.Failing;
        await RunAsync(counts, Target, GoodAsync, FailingAsync, Budget, clock, cancellationToken);
        TimeSpan ran = clock.Elapsed;
        Baseline after = Baseline.Take();

        TestContext.Out.WriteLine(
            $"{counts.Good} good and {counts.Failing} failing handshakes ({warmGood} + {warmFailing} of them warm-up) in {ran.TotalSeconds:0.0} s " +
            $"(target {Target} each, budget {Budget.TotalSeconds:0} s, {Workers} at a time)");
        TestContext.Out.WriteLine($"before: {before}");
        TestContext.Out.WriteLine($"after:  {after}");
        Assert.Multiple(() =>
        {
            Assert.That(counts.Good, Is.GreaterThanOrEqualTo(2_000), "enough good handshakes ran to mean something");
            Assert.That(counts.Failing, Is.GreaterThanOrEqualTo(2_000), "enough failing handshakes ran to mean something");
            Assert.That(after.NativeHandles, Is.EqualTo(before.NativeHandles), "LiveNativeHandles");
            Assert.That(after.CallbackHandles, Is.EqualTo(before.CallbackHandles), "LiveCallbackHandles");
            Assert.That(after.PoolThreads, Is.LessThanOrEqualTo(before.PoolThreads + ThreadBound), "ThreadPool.ThreadCount");
            Assert.That(after.ProcessThreads, Is.LessThanOrEqualTo(before.ProcessThreads + ThreadBound), "process threads");
            Assert.That(after.Managed - before.Managed, Is.LessThan(ManagedBound), "managed heap growth (bytes)");
            Assert.That(after.Rss - before.Rss, Is.LessThan(RssBound), "RSS growth (bytes)");
        });
    }

    // The workers run concurrently, where NUnit's assertions are not meant to be used: they throw, and
    // the first exception fails the test through Task.WhenAll.
    private static void Expect(bool condition, string what, Exception? actual)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Expected: {what}; got {actual?.ToString() ?? "no exception"}");
        }
    }

    private static async Task RunAsync(Counts counts, int target, Func<Task> good, Func<int, Task> failing, TimeSpan budget, Stopwatch clock, CancellationToken cancellationToken)
    {
        int started = 0;
        TimeSpan end = budget == TimeSpan.MaxValue ? budget : clock.Elapsed + budget;
        async Task WorkerAsync()
        {
            while (clock.Elapsed < end)
            {
                int n = Interlocked.Increment(ref started) - 1;
                if (n >= 2 * target)
                {
                    return;
                }

                cancellationToken.ThrowIfCancellationRequested();
                await (n % 2 == 0 ? good() : failing(n / 2));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(WorkerAsync, cancellationToken)));
    }

    private sealed class Counts
    {
        public int Good;
        public int Failing;
    }

    private sealed record Baseline(long NativeHandles, long CallbackHandles, int PoolThreads, int ProcessThreads, long Managed, long Rss)
    {
        public static Baseline Take()
        {
            (long managed, long rss, long native, long callbacks) = MaliciousServerTests.Measure();
            using Process self = Process.GetCurrentProcess();
            return new Baseline(native, callbacks, ThreadPool.ThreadCount, self.Threads.Count, managed, rss);
        }

        public override string ToString() =>
            $"{NativeHandles} native and {CallbackHandles} callback handles, {PoolThreads} pool threads, {ProcessThreads} process threads, managed {Managed / 1024} KB, RSS {Rss / 1048576} MB";
    }
}
