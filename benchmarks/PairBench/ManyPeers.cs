using OpenSslDtls.Benchmarks.Shared;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using OpenSsl.Dtls;

namespace OpenSslDtls.PairBench;

/// <summary>
/// N concurrent peers, each one session (or plain UDP socket) echoing one datagram at a time
/// through the server at --port: round trips per second over all peers and the latency of each
/// round trip (p50/p99). The same client runs against every server, so that the servers compare.
/// </summary>
internal static class ManyPeers
{
    public static async Task RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        var server = new IPEndPoint(IPAddress.Loopback, settings.Port);
        using var context = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, AllowSessionResumption = false });
        var peers = new Peer[settings.Peers];
        using (var gate = new SemaphoreSlim(8))
        {
            await Task.WhenAll(Enumerable.Range(0, peers.Length).Select(async i =>
            {
                await gate.WaitAsync(cancellationToken);
                try
                {
                    peers[i] = settings.Impl == "udp" ? Peer.Udp(server) : await Peer.DtlsAsync(server, context, cancellationToken);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        byte[] payload = new byte[settings.Size];
        Random.Shared.NextBytes(payload);
        // Warm-up, bounded: a plain UDP datagram lost at a full server socket buffer (1,000 peers at
        // once) is never resent, so its peer stalls; it sits out the measured phase and is counted.
        using (var warmup = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            warmup.CancelAfter(TimeSpan.FromSeconds(10));
            await Task.WhenAll(peers.Select(p => p.EchoAsync(payload, 20, long.MaxValue, warmup.Token)));
        }

        using var stalled = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stalled.CancelAfter(TimeSpan.FromSeconds(settings.Seconds + 3)); // a lost datagram stalls its peer until here
        // The server's CPU over the timed window only (not the handshakes or the warm-up): read at
        // its start and, by a timer, at its end, even while stalled peers keep the echo tasks open.
        long cpuBefore = ProcessCpu.Ticks(settings.ServerPid);
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(settings.Seconds * Stopwatch.Frequency);
        Task<long> cpuAfter = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(settings.Seconds), cancellationToken);
            return ProcessCpu.Ticks(settings.ServerPid);
        }, cancellationToken);
        await Task.WhenAll(peers.Select(p => p.EchoAsync(payload, 1_000_000, end, stalled.Token)));
        // The window, not the wait for stalled peers: round trips are counted up to its end.
        double seconds = Math.Min(Stopwatch.GetElapsedTime(start).TotalSeconds, settings.Seconds);

        long[] all = peers.SelectMany(p => p.Latencies.Take(p.Count)).Order().ToArray();
        long ops = all.Length;
        double Percentile(double q) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(q * all.Length))] * 1e6 / Stopwatch.Frequency;
        long cpuTicks = await cpuAfter - cpuBefore;
        string serverCpu = settings.ServerPid > 0 && ops > 0
            ? string.Create(CultureInfo.InvariantCulture, $" server_cpu_us_per_op={cpuTicks * 1e6 / settings.ClockTicks / ops:F1} server_cpu_ticks={cpuTicks}")
            : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT ops={ops} seconds={seconds:F3} per_second={ops / seconds:F1} p50_us={Percentile(0.50):F0} p99_us={Percentile(0.99):F0} stalled_peers={peers.Count(p => p.Stalled)} udp_resent={peers.Sum(p => p.Resent)}{serverCpu}"));
        foreach (Peer peer in peers)
        {
            await peer.DisposeAsync();
        }
    }

    /// <summary>
    /// Fresh full handshakes one after another (--peers of them, after 20 unmeasured ones that pay
    /// for JIT and tiering): their p50, p99 and max in ms. With 300 samples the p99 is the 297th
    /// value, not the maximum; with fewer than 100 it would be, so the max is printed separately.
    /// </summary>
    public static async Task ProbeAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        const int WarmupHandshakes = 20;
        var server = new IPEndPoint(IPAddress.Loopback, settings.Port);
        using var context = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, AllowSessionResumption = false });
        for (int i = 0; i < WarmupHandshakes; i++)
        {
            await (await DtlsClient.ConnectAsync(server, context, cancellationToken)).DisposeAsync();
        }

        var times = new List<double>();
        for (int i = 0; i < settings.Peers; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await (await DtlsClient.ConnectAsync(server, context, cancellationToken)).DisposeAsync();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        times.Sort();
        // Nearest rank: the smallest value with at least q of the samples at or below it.
        double Rank(double q) => times[Math.Clamp((int)Math.Ceiling(q * times.Count) - 1, 0, times.Count - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT ops={times.Count} fresh_handshake_p50_ms={Rank(0.50):F2} fresh_handshake_p99_ms={Rank(0.99):F2} fresh_handshake_max_ms={times[^1]:F2}"));
    }

    private sealed class Peer : IAsyncDisposable
    {
        private DtlsSession? _session;
        private Socket? _socket;

        public long[] Latencies { get; } = new long[200_000];

        public int Count { get; private set; }

        public bool Stalled { get; private set; }

        public static Peer Udp(IPEndPoint server)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(server);
            return new Peer { _socket = socket };
        }

        public static async Task<Peer> DtlsAsync(IPEndPoint server, DtlsContext context, CancellationToken cancellationToken) =>
            new Peer { _session = await DtlsClient.ConnectAsync(server, context, cancellationToken) };

        public async Task EchoAsync(byte[] payload, int count, long until, CancellationToken cancellationToken)
        {
            if (Stalled)
            {
                return;
            }

            byte[] buffer = new byte[payload.Length + 64];
            Count = 0;
            for (int i = 0; i < count && Stopwatch.GetTimestamp() < until; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                try
                {
                    if (_session is not null)
                    {
                        await _session.SendAsync(payload, cancellationToken);
                        await _session.ReceiveAsync(buffer, cancellationToken);
                    }
                    else
                    {
                        await UdpRoundTripAsync(payload, buffer, cancellationToken);
                    }
                }
                catch (OperationCanceledException)
                {
                    Stalled = true;
                    return;
                }

                if (Count < Latencies.Length)
                {
                    Latencies[Count++] = Stopwatch.GetTimestamp() - t0;
                }
            }
        }

        /// <summary>Plain UDP has no retransmission: a datagram dropped at the server's full socket buffer is resent after 200 ms (and counted).</summary>
        private async Task UdpRoundTripAsync(byte[] payload, byte[] buffer, CancellationToken cancellationToken)
        {
            while (true)
            {
                await _socket!.SendAsync(payload, SocketFlags.None, cancellationToken);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(TimeSpan.FromMilliseconds(200));
                try
                {
                    await _socket.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
                    return;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    Resent++;
                }
            }
        }

        public int Resent { get; private set; }

        public async ValueTask DisposeAsync()
        {
            if (_session is not null)
            {
                await _session.DisposeAsync();
            }

            _socket?.Dispose();
        }
    }
}
