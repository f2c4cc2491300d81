using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace OpenSsl.Dtls;

/// <summary>
/// What a <see cref="DtlsContext"/> (and a <see cref="DtlsListener"/> through its context) took from
/// its options' <see cref="DtlsOptions.LoggerFactory"/>, <see cref="DtlsOptions.MeterFactory"/> and
/// <see cref="DtlsOptions.TimeProvider"/> when it was created: loggers, instruments, the clock and the
/// timer queue of that clock. Immutable; shared by the context's sessions on any thread.
/// </summary>
internal sealed class DtlsTelemetry
{
    private readonly ILoggerFactory _loggers;

    public DtlsTelemetry(ILoggerFactory? loggers, IMeterFactory? meters, TimeProvider time)
    {
        _loggers = loggers ?? NullLoggerFactory.Instance;
        Time = time;
        Timers = DtlsTimerQueue.For(time);
        Instruments = DtlsInstruments.For(meters);
        ContextLogger = _loggers.CreateLogger("OpenSsl.Dtls.DtlsContext");
        SessionLogger = _loggers.CreateLogger("OpenSsl.Dtls.DtlsSession");
        ClientLogger = _loggers.CreateLogger("OpenSsl.Dtls.DtlsClient");
    }

    public TimeProvider Time { get; }

    /// <summary>The timer queue of <see cref="Time"/>: retransmissions, handshake deadlines, idle checks.</summary>
    public DtlsTimerQueue Timers { get; }

    public DtlsInstruments Instruments { get; }

    public ILogger ContextLogger { get; }

    public ILogger SessionLogger { get; }

    public ILogger ClientLogger { get; }

    public ILogger CreateLogger(string category) => _loggers.CreateLogger(category);

    /// <summary>Now, as a timestamp of <see cref="Time"/> (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long Now => Time.GetTimestamp();

    /// <summary><paramref name="span"/> in <see cref="Time"/>'s timestamp units.</summary>
    public long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Time.TimestampFrequency);

    /// <summary>The timestamp <paramref name="span"/> from now.</summary>
    public long After(TimeSpan span) => Now + Ticks(span);

    /// <summary>The time from <paramref name="start"/> (a timestamp of <see cref="Time"/>) to now.</summary>
    public TimeSpan Since(long start) => Time.GetElapsedTime(start);
}
