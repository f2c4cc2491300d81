using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenSsl.Dtls;

namespace OpenSslDtls.Listener.Tests.Support;

/// <summary>
/// An <see cref="IMeterFactory"/> as a host's dependency injection gives one: meters scoped to the
/// factory (so <c>MetricCollector</c> given this factory sees only this test's measurements, never
/// another test's on the process-wide meter), one per name and version, disposed with the factory.
/// </summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly ConcurrentDictionary<(string Name, string? Version), Meter> _meters = new();

    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return _meters.GetOrAdd((options.Name, options.Version), _ =>
        {
            options.Scope = this;
            return new Meter(options);
        });
    }

    public void Dispose()
    {
        foreach (Meter meter in _meters.Values)
        {
            meter.Dispose();
        }
    }
}

/// <summary>Records every "OpenSsl.Dtls" activity that stops while it listens.</summary>
internal sealed class ActivityRecorder : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _stopped = new();

    public ActivityRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == DtlsTracing.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyList<Activity> Stopped => [.. _stopped];

    /// <summary>The stopped handshake activities of one kind (client or server) whose peer or server port is <paramref name="port"/>.</summary>
    public Activity[] Handshakes(ActivityKind kind, int port) =>
        [.. _stopped.Where(a => a.Kind == kind && a.OperationName == DtlsTracing.HandshakeActivityName && (Equals(a.GetTagItem("server.port"), port) || Equals(a.GetTagItem("network.peer.port"), port)))];

    public void Dispose() => _listener.Dispose();
}
