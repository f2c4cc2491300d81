using System.Diagnostics;
using System.Globalization;
using OpenSslDtls.Benchmarks.Shared;

namespace OpenSslDtls.PairBench;

/// <summary>
/// The timed loops, the same as native/bench.c's: a warm-up (JIT, tiering, pools; the C program has
/// none of that to pay) and then as many operations as fit in the window. CPU is the whole process's
/// (both peers), allocations are every thread's (GC.GetTotalAllocatedBytes).
/// </summary>
internal static class Measure
{
    public static AllocationSampler? Sampler { get; set; }

    /// <summary>When both contexts had been made (cold start: the rest is the first handshake).</summary>
    public static long SetupDone { get; set; }

    public static async Task<string> RunAsync(PairImpl impl, BenchSettings settings, long processStart, CancellationToken cancellationToken)
    {
        TimeSpan window = TimeSpan.FromSeconds(settings.Seconds);
        switch (settings.Mode)
        {
            case "cold":
            {
                await impl.HandshakeOnceAsync(cancellationToken);
                double coldMs = Stopwatch.GetElapsedTime(processStart).TotalMilliseconds;
                long epochNs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
                double setupMs = Stopwatch.GetElapsedTime(processStart, SetupDone).TotalMilliseconds;
                return Inv($"RESULT ops=1 cold_ms={coldMs:F2} setup_ms={setupMs:F2} done_epoch_ns={epochNs}");
            }

            case "hs":
            case "resume":
            {
                // Until tiering is done, not a fixed 1 s: an RSA profile still had the tiered
                // compilation thread inside the window after 1 s (docs/benchmarks.md).
                TieredWarmup warmup = await TieredWarmup.RunAsync(() => impl.HandshakeOnceAsync(cancellationToken));
                Snapshot start = Snapshot.Take();
                long ops = 0;
                while (Stopwatch.GetElapsedTime(start.Timestamp) < window && ops < 1_000_000)
                {
                    await impl.HandshakeOnceAsync(cancellationToken);
                    ops++;
                }

                Console.Error.WriteLine(warmup.DescribeWindow());
                return start.Format(ops, Stopwatch.GetElapsedTime(start.Timestamp));
            }

            case "echo":
            {
                await impl.OpenAsync(echo: true, cancellationToken);
                byte[] payload = new byte[settings.Size];
                Random.Shared.NextBytes(payload);
                byte[] buffer = new byte[settings.Size + 64];
                // Every measure warms up the same way, until tiering is done (TieredWarmup).
                TieredWarmup warmup = await TieredWarmup.RunAsync(async () =>
                {
                    await impl.SendAsync(payload, cancellationToken);
                    await impl.ReceiveAsync(buffer, cancellationToken);
                });
                Snapshot start = Snapshot.Take();
                long ops = 0;
                while (Stopwatch.GetElapsedTime(start.Timestamp) < window && ops < 50_000_000)
                {
                    for (int k = 0; k < 16; k++, ops++)
                    {
                        await impl.SendAsync(payload, cancellationToken);
                        int n = await impl.ReceiveAsync(buffer, cancellationToken);
                        if (n != payload.Length || !buffer.AsSpan(0, n).SequenceEqual(payload))
                        {
                            throw new InvalidOperationException($"echo {ops} differs");
                        }
                    }
                }

                string line = start.Format(ops, Stopwatch.GetElapsedTime(start.Timestamp));
                Console.Error.WriteLine(warmup.DescribeWindow());
                await impl.CloseAsync(cancellationToken);
                return line;
            }

            case "bulk":
            {
                // Paced by a credit window (PacedBulk.cs, the same as native/bench.c's): a sustainable
                // rate with losses counted, not how fast an overrun receiver drains its socket.
                if (settings.Size < PacedBulk.HeaderLength)
                {
                    throw new ArgumentException($"--mode bulk needs --size of at least {PacedBulk.HeaderLength} (a sequence number leads each datagram)");
                }

                await impl.OpenAsync(echo: false, cancellationToken);
                var sender = new PacedSender(impl);
                // Warm-up (JIT, tiering) through the same window with datagrams the receiver does not count.
                byte[] warmupPayload = new byte[settings.Size];
                TieredWarmup warmup = await TieredWarmup.RunAsync(async () => await sender.SendAsync(warmupPayload, cancellationToken));

                byte[] payload = new byte[settings.Size];
                payload[8] = PacedBulk.Measured;
                long warmStalls = sender.Stalls;
                Snapshot start = Snapshot.Take();
                long sent = 0;
                while (Stopwatch.GetElapsedTime(start.Timestamp) < window && sent < 100_000_000)
                {
                    for (int k = 0; k < 16; k++, sent++)
                    {
                        await sender.SendAsync(payload, cancellationToken);
                    }
                }

                (long received, long last) = await impl.CloseAsync(cancellationToken);
                Console.Error.WriteLine(warmup.DescribeWindow());
                TimeSpan elapsed = Stopwatch.GetElapsedTime(start.Timestamp, last);
                return start.Format(received, elapsed)
                    + Inv($" sent={sent} lost={sent - received} stalls={sender.Stalls - warmStalls} mb_per_second={received * (double)settings.Size / elapsed.TotalSeconds / 1e6:F1}");
            }

            default:
                throw new ArgumentException($"unknown --mode {settings.Mode}");
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private readonly record struct Snapshot(long Timestamp, TimeSpan Cpu, long Allocated)
    {
        public static Snapshot Take()
        {
            using var process = Process.GetCurrentProcess();
            Sampler?.Enabled = true;
            return new Snapshot(Stopwatch.GetTimestamp(), process.TotalProcessorTime, GC.GetTotalAllocatedBytes(precise: true));
        }

        public string Format(long ops, TimeSpan elapsed)
        {
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - Allocated;
            Sampler?.Enabled = false;
            using var process = Process.GetCurrentProcess();
            double cpuUs = (process.TotalProcessorTime - Cpu).TotalMicroseconds;
            ops = Math.Max(ops, 1);
            return Inv($"RESULT ops={ops} seconds={elapsed.TotalSeconds:F3} per_second={ops / elapsed.TotalSeconds:F1} cpu_us_per_op={cpuUs / ops:F1} alloc_b_per_op={allocated / (double)ops:F1}");
        }
    }
}
