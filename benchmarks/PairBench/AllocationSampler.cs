using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace OpenSslDtls.PairBench;

/// <summary>
/// The runtime's allocation sampling (GCAllocationTick: one event per ~100 KB allocated, with the
/// type that crossed the mark), counted by type: which objects a steady-state loop allocates.
/// Enabled with DTLS_BENCH_ALLOCATIONS=1; printed on stderr at exit.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, int> _types = new();

    public bool Enabled { get; set; }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (Enabled && eventData.EventName is not null && eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal)
            && eventData.Payload is { } payload && eventData.PayloadNames is { } names)
        {
            int index = names.IndexOf("TypeName");
            string type = index >= 0 ? payload[index] as string ?? "?" : "?";
            _types.AddOrUpdate(type, 1, (_, n) => n + 1);
        }
    }

    public void Report()
    {
        ReportAndClear(clear: false);
    }

    /// <summary>Prints the counts (stderr) and, with <paramref name="clear"/>, starts counting afresh (one table per ConnectionParts part).</summary>
    public void ReportAndClear(bool clear)
    {
        foreach ((string type, int count) in _types.OrderByDescending(kv => kv.Value).Take(15))
        {
            Console.Error.WriteLine($"allocation samples {count,6}  {type}");
        }

        if (clear)
        {
            _types.Clear();
        }
    }
}
