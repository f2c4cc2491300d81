// dtls-pair-bench: the managed side of benchmarks/run.sh, the twin of native/build/dtls-bench.
// One process, a server and a client over two connected loopback UDP sockets, printing the same
// "RESULT name=value ..." line, so that one script compares OpenSslDtls, BouncyCastle and native C
// in the same shapes. Many peers: a client process against an external server (--port).
//
//   dtls-pair-bench --impl ours|bc --mode hs|resume|echo|bulk|cold --cert F --key F [--size B] [--seconds S]
//   dtls-pair-bench --impl ours|udp --mode many --port P --peers N [--size B] [--seconds S] [--server-pid PID --clock-ticks HZ]
//   dtls-pair-bench --mode serve                     a DtlsListener echo server (many peers, server side)
//   dtls-pair-bench --mode probe --port P --peers N  20 unmeasured, then N fresh handshakes one by one: p50/p99/max ms
//   dtls-pair-bench --impl ours --mode parts-hs|parts-resume --cert F --key F   the fixed cost per connection, taken apart (ConnectionParts)
using System.Diagnostics;
using System.Globalization;
using OpenSslDtls.PairBench;

long startTimestamp = Stopwatch.GetTimestamp();
var settings = new BenchSettings();
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--impl": settings.Impl = Next(); break;
        case "--mode": settings.Mode = Next(); break;
        case "--cert": settings.CertFile = Next(); break;
        case "--key": settings.KeyFile = Next(); break;
        case "--size": settings.Size = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--seconds": settings.Seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--port": settings.Port = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--peers": settings.Peers = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--server-pid": settings.ServerPid = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--clock-ticks": settings.ClockTicks = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine($"error: unknown argument '{args[i]}'");
            return 2;
    }
}

using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
switch (settings.Mode)
{
    case "many":
        await ManyPeers.RunAsync(settings, deadline.Token);
        return 0;
    case "probe":
        await ManyPeers.ProbeAsync(settings, deadline.Token);
        return 0;
    case "serve":
        await ListenerServer.RunAsync(settings, CancellationToken.None);
        return 0;
}

PairImpl impl = settings.Impl switch
{
    "ours" or "ours-listener" => new OursPair(settings),
    "bc" => new BouncyCastlePair(settings),
    _ => throw new ArgumentException($"unknown --impl {settings.Impl}"),
};
Measure.SetupDone = Stopwatch.GetTimestamp(); // contexts made: certificate and key files loaded
using AllocationSampler? sampler = Environment.GetEnvironmentVariable("DTLS_BENCH_ALLOCATIONS") == "1" ? new AllocationSampler() : null;
Measure.Sampler = sampler;
if (settings.Mode is "parts-hs" or "parts-resume")
{
    await ConnectionParts.RunAsync((OursPair)impl, settings, deadline.Token);
    await impl.DisposeAsync();
    return 0;
}

await using (impl)
{
    Console.WriteLine(await Measure.RunAsync(impl, settings, startTimestamp, deadline.Token));
}

sampler?.Report();

return 0;
