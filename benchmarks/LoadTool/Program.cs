// dtls-load: the C# twin of native/build/dtls-echo-client's benchmark modes, printing the same
// result lines, so that one script can put both clients against the same server in the same run
// and report ratios (absolute figures on a shared 2-core machine mean little). It warms up
// (JIT, tiered compilation: at least 1 s and until the JIT is quiet) before it starts the clock.
//
//   dtls-load --port P [--host H] --handshakes N [--server-pid PID]
//                                                      (PID: the server's CPU ticks in the timed window, appended
//                                                      to the result line as server_cpu_ticks T; the warm-up is not charged)
//   dtls-load --port P [--host H] --size BYTES --count N
//   dtls-load --port P [--host H] --hold N             hold N idle sessions until stdin closes
//   dtls-load --port P --listener-memory N             memory per idle session of an in-process DtlsListener
//                                                      (P: any DTLS echo server, to measure the client side alone)
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using OpenSsl.Dtls;
using OpenSslDtls.Benchmarks.Shared;
using OpenSslDtls.LoadTool;

string host = "127.0.0.1";
int port = 4433, handshakes = 0, size = 0, count = 1000, hold = 0, listenerMemory = 0, serverPid = 0;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--host": host = Next(); break;
        case "--port": port = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
        case "--handshakes": handshakes = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
        case "--size": size = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
        case "--count": count = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
        case "--hold": hold = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
        case "--listener-memory": listenerMemory = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
        case "--server-pid": serverPid = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
        case "--insecure": break; // the only mode: a benchmark peer with an ephemeral certificate
        default:
            Console.Error.WriteLine($"error: unknown argument '{args[i]}'");
            return 2;
    }
}

var endpoint = new IPEndPoint(IPAddress.Parse(host), port);
// Resumption off: every handshake is a full one, as the C client does.
using var context = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, AllowSessionResumption = false });
using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));

if (listenerMemory > 0)
{
    return await IdleMemory.MeasureAsync(listenerMemory, endpoint, timeout.Token);
}

if (hold > 0)
{
    var held = new List<DtlsSession>(hold);
    for (int i = 0; i < hold; i++)
    {
        held.Add(await DtlsClient.ConnectAsync(endpoint, context, timeout.Token));
    }

    Console.WriteLine($"holding {hold}");
    await Console.In.ReadToEndAsync(timeout.Token);
    foreach (DtlsSession session in held)
    {
        await session.DisposeAsync();
    }

    return 0;
}

if (handshakes > 0)
{
    // Warm up first (JIT, tiering, pools), by time and until tiering is done, not by a count: 40
    // handshakes (about 50 ms) left tiered compilation running inside the timed loop (TieredWarmup).
    TieredWarmup warmup = await TieredWarmup.RunAsync(async () =>
    {
        await using DtlsSession warm = await DtlsClient.ConnectAsync(endpoint, context, timeout.Token);
    });
    long serverTicksStart = ProcessCpu.Ticks(serverPid);
    TimeSpan cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
    long allocatedStart = GC.GetTotalAllocatedBytes(precise: true);
    long start = Stopwatch.GetTimestamp();
    long retransmissions = 0, slowest = 0;
    for (int i = 0; i < handshakes; i++)
    {
        long began = Stopwatch.GetTimestamp();
        await using DtlsSession session = await DtlsClient.ConnectAsync(endpoint, context, timeout.Token);
        retransmissions += session.Retransmissions;
        slowest = Math.Max(slowest, Stopwatch.GetTimestamp() - began);
    }

    double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
    long serverTicks = ProcessCpu.Ticks(serverPid) - serverTicksStart;
    Console.Error.WriteLine(FormattableString.Invariant(
        $"retransmissions {retransmissions}, slowest handshake {Stopwatch.GetElapsedTime(0, slowest).TotalMilliseconds:F1} ms"));
    Console.Error.WriteLine(warmup.DescribeWindow());
    // The client's own cost, which the result line (the C client's format) does not carry.
    double cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalMicroseconds;
    Console.Error.WriteLine(FormattableString.Invariant(
        $"client cpu_us_per_op={cpuUs / handshakes:F1} alloc_b_per_op={(GC.GetTotalAllocatedBytes(precise: true) - allocatedStart) / (double)handshakes:F0}"));
    Console.WriteLine(FormattableString.Invariant(
        $"handshakes {handshakes} seconds {seconds:F3} per_second {handshakes / seconds:F1} client_cpu_us_per_op {cpuUs / handshakes:F1}{(serverPid > 0 ? $" server_cpu_ticks {serverTicks}" : "")}"));
    return 0;
}

if (size <= 0)
{
    Console.Error.WriteLine("error: give --handshakes N or --size BYTES --count N");
    return 2;
}

await using (DtlsSession session = await DtlsClient.ConnectAsync(endpoint, context, timeout.Token))
{
    byte[] payload = RandomNumberGenerator.GetBytes(size);
    byte[] echo = new byte[size];
    for (int i = 0; i < Math.Max(100, count / 10); i++)
    {
        await session.SendAsync(payload, timeout.Token);
        await session.ReceiveAsync(echo, timeout.Token);
    }

    long start = Stopwatch.GetTimestamp();
    for (int i = 0; i < count; i++)
    {
        await session.SendAsync(payload, timeout.Token);
        int n = await session.ReceiveAsync(echo, timeout.Token);
        if (n != size || !echo.AsSpan().SequenceEqual(payload))
        {
            Console.Error.WriteLine($"error: echo {i} differs");
            return 1;
        }
    }

    double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
    Console.WriteLine(FormattableString.Invariant(
        $"echo count {count} bytes {size} seconds {seconds:F3} per_second {count / seconds:F1} mbit_per_second {count * (double)size * 8 / seconds / 1e6:F1}"));
}

return 0;
