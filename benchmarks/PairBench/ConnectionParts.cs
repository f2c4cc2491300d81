using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using OpenSsl.Dtls;
using OpenSslDtls.Benchmarks.Shared;

namespace OpenSslDtls.PairBench;

/// <summary>
/// <c>--mode parts-hs</c> and <c>--mode parts-resume</c>: the fixed cost of one connection of the full or resumed handshake measure, taken apart
/// by measuring growing prefixes of it in the same process, one after another, each warmed up and
/// timed alone (wall µs, process CPU µs and allocated bytes per operation):
/// <list type="bullet">
/// <item><c>sockets</c>: the two connected loopback UDP sockets (socket, bind, connect, close);</item>
/// <item><c>sockets+receive</c>: the same, and one pending <see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/> on each, which registers the socket with .NET's epoll thread (then aborted by the close);</item>
/// <item><c>sessions</c>: the sockets and a server and a client <see cref="DtlsSession"/> on them, disposed without a handshake (SSL_new, the BIO, the GCHandle, the receive queue, the receive loop's start and end, the client's session-cache lookup);</item>
/// <item><c>handshake</c>: the whole measured operation of <c>--mode hs</c> or <c>--mode resume</c>.</item>
/// </list>
/// The differences between lines are the parts' costs. Not a pair measure against native (no such
/// shape in native/bench.c): it says where our fixed cost per connection goes.
/// </summary>
internal static class ConnectionParts
{
    public static async Task RunAsync(OursPair pair, BenchSettings settings, CancellationToken cancellationToken)
    {
        (DtlsContext server, DtlsContext client) = pair.Contexts;
        var window = TimeSpan.FromSeconds(settings.Seconds);
        byte[] scratch = new byte[64];
        await PartAsync("sockets", window, () =>
        {
            new LoopbackPair().Dispose();
            return Task.CompletedTask;
        });
        await PartAsync("sockets+receive", window, () =>
        {
            using var sockets = new LoopbackPair();
            // Started, never completed: the close aborts them (as a session's Dispose does).
#pragma warning disable CA2012 // Never awaited on purpose: only the epoll registration is measured.
            _ = sockets.Server.ReceiveAsync(scratch, SocketFlags.None, CancellationToken.None);
            _ = sockets.Client.ReceiveAsync(scratch, SocketFlags.None, CancellationToken.None);
#pragma warning restore CA2012
            return Task.CompletedTask;
        });
        await PartAsync("sessions", window, () =>
        {
            using var sockets = new LoopbackPair();
            new DtlsSession(server, sockets.Server).Dispose();
            new DtlsSession(client, sockets.Client).Dispose();
            return Task.CompletedTask;
        });
        await PartAsync("handshake", window, () => pair.HandshakeOnceAsync(cancellationToken));
    }

    private static async Task PartAsync(string name, TimeSpan window, Func<Task> operation)
    {
        var warmup = new TieredWarmup();
        while (warmup.Continue())
        {
            await operation();
        }

        using var process = Process.GetCurrentProcess();
        TimeSpan cpu = process.TotalProcessorTime;
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        Measure.Sampler?.Enabled = true; // DTLS_BENCH_ALLOCATIONS=1: the allocated types, per part
        long start = Stopwatch.GetTimestamp();
        long ops = 0;
        while (Stopwatch.GetElapsedTime(start) < window)
        {
            await operation();
            ops++;
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        Measure.Sampler?.Enabled = false;
        process.Refresh();
        double cpuUs = (process.TotalProcessorTime - cpu).TotalMicroseconds;
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"PART {name} ops={ops} wall_us_per_op={elapsed.TotalMicroseconds / ops:F1} cpu_us_per_op={cpuUs / ops:F1} alloc_b_per_op={bytes / (double)ops:F0}"));
        Measure.Sampler?.ReportAndClear(clear: true);
    }
}
