using System.Diagnostics;
using System.Runtime;

namespace OpenSslDtls.Benchmarks.Shared;

/// <summary>
/// The warm-up before a timed window, by time and by the JIT's progress rather than by a count of
/// operations: tiered compilation (tier 0, instrumented tier, tier 1, each after a 100 ms delay that
/// restarts whenever new code is jitted) kept the ".NET Tiered Compilation" thread busy inside the
/// timed window after a warm-up of 40 handshakes (dtls-load, docs/benchmarks.md: 16 % of a client
/// profile's samples) and even after a fixed 1 s (an RSA pair profile: 6-13 %). So: at least
/// <see cref="Minimum"/>, then on until no method has been compiled for <see cref="Quiet"/>
/// (<see cref="JitInfo.GetCompiledMethodCount"/>, every thread), at most <see cref="Maximum"/> or
/// <see cref="MaxOperations"/> operations. The C programs have none of this to pay.
/// A quiet spell is not proof: on a loaded machine the background compiler thread can be starved
/// and its tier-1 burst come later (seen: 688 methods, 406 ms of JIT in an RSA window after a 300 ms
/// quiet spell at load 8), so <see cref="DescribeWindow"/> reports what the JIT did inside the window.
/// </summary>
internal sealed class TieredWarmup
{
    public static readonly TimeSpan Minimum = TimeSpan.FromSeconds(2.0);
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);
    // 3 s, not 5: with 5, run.sh took 623 s, over the 10 minutes, and the runs that reached the
    // bound still compiled a few methods every few hundred ms (call-counting promotions of rare paths),
    // which DescribeWindow reports (a few ms of JIT per 1 s window in artifacts/bench/stderr.log).
    public static readonly TimeSpan Maximum = TimeSpan.FromSeconds(3.0);
    public const int MaxOperations = 2_000_000; // a bound besides Maximum; bulk does over 100,000 operations a second

    private readonly long _start = Stopwatch.GetTimestamp();
    private long _lastCount = JitInfo.GetCompiledMethodCount();
    private long _lastChange = Stopwatch.GetTimestamp();

    /// <summary>
    /// Runs <paramref name="operation"/> until the warm-up ends, reports it on stderr, and marks the
    /// timed window's start: the one warm-up every measure shares.
    /// </summary>
    public static async Task<TieredWarmup> RunAsync(Func<Task> operation)
    {
        var warmup = new TieredWarmup();
        while (warmup.Continue())
        {
            await operation();
        }

        Console.Error.WriteLine(warmup.Describe());
        warmup.MarkWindowStart();
        return warmup;
    }

    /// <summary>Operations run so far.</summary>
    public int Operations { get; private set; }

    /// <summary>Methods the JIT compiled during the warm-up (every tier).</summary>
    public long Compiled { get; private set; }

    /// <summary>Call before each warm-up operation: true while the warm-up goes on.</summary>
    public bool Continue()
    {
        long now = Stopwatch.GetTimestamp();
        long count = JitInfo.GetCompiledMethodCount();
        if (count != _lastCount)
        {
            Compiled += count - _lastCount;
            _lastCount = count;
            _lastChange = now;
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(_start, now);
        bool more = Operations < MaxOperations && elapsed < Maximum
            && (elapsed < Minimum || Stopwatch.GetElapsedTime(_lastChange, now) < Quiet);
        if (more)
        {
            Operations++;
        }

        return more;
    }

    private long _endCount;
    private TimeSpan _endJitTime;
    private long _windowStart;

    /// <summary>Call when the timed window starts: <see cref="DescribeWindow"/> counts from here.</summary>
    public void MarkWindowStart()
    {
        _endCount = JitInfo.GetCompiledMethodCount();
        _endJitTime = JitInfo.GetCompilationTime();
        _windowStart = Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// The JIT's work inside the timed window, for stderr: the evidence that the warm-up was long
    /// enough. The window's bounds are <see cref="Stopwatch"/> timestamps (on Linux CLOCK_MONOTONIC in
    /// ns), so that a profile taken with <c>perf record -k CLOCK_MONOTONIC</c> can be cut to the window.
    /// </summary>
    public string DescribeWindow() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"in the timed window (timestamps {_windowStart}-{Stopwatch.GetTimestamp()}, frequency {Stopwatch.Frequency}): {JitInfo.GetCompiledMethodCount() - _endCount} methods compiled, {(JitInfo.GetCompilationTime() - _endJitTime).TotalMilliseconds:F1} ms of JIT");

    /// <summary>What the warm-up did, for stderr: "warm-up 1.42 s, 1,234 operations, 567 methods compiled".</summary>
    public string Describe() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"warm-up {Stopwatch.GetElapsedTime(_start).TotalSeconds:F2} s, {Operations} operations, {Compiled} methods compiled, the last {Stopwatch.GetElapsedTime(_lastChange).TotalMilliseconds:F0} ms before its end");
}
