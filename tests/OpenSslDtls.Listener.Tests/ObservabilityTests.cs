using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>The "OpenSsl.Dtls" meter and the listener's log events.</summary>
public class ObservabilityTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task The_OpenSsl_Dtls_meter_and_the_logger_report_what_the_listener_does(CancellationToken ct)
    {
        var measurements = new ConcurrentDictionary<string, double>();
        using var meterListener = new MeterListener();
        meterListener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "OpenSsl.Dtls")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string key = instrument.Name;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                key += $"|{tag.Key}={tag.Value}";
            }

            measurements.AddOrUpdate(key, value, (_, old) => old + value);
        });
        meterListener.SetMeasurementEventCallback<double>((instrument, value, _, _) => measurements.AddOrUpdate(instrument.Name, 1, (_, old) => old + 1));
        meterListener.Start();

        var logger = new CapturingLogger();
        DtlsListenerOptions options = Options();
        DtlsListener listener = DtlsListener.Listen(new DtlsListenerOptions
        {
            LocalEndPoint = options.LocalEndPoint,
            ServerOptions = options.ServerOptions,
            Logger = logger,
        });
        await using (listener)
        {
            await using EchoServer echo = EchoServer.Start(listener);
            using DtlsContext clientContext = ClientContext();
            using (Client client = await ConnectAsync(listener, clientContext, ct))
            {
                await EchoAsync(client.Session, [1, 2, 3], ct);
            }

            using Socket raw = RawSocket();
            await raw.SendToAsync(new byte[] { 1, 2, 3 }, listener.LocalEndPoint, ct);
            Assert.That(await WaitUntilAsync(() => listener.Statistics.DroppedMalformed == 1, TimeSpan.FromSeconds(5), ct), Is.True);
        }

        Assert.That(measurements.GetValueOrDefault("dtls.handshakes.started"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.GetValueOrDefault("dtls.handshakes.completed"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.GetValueOrDefault("dtls.handshake.duration"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.GetValueOrDefault("dtls.cookies.sent"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.GetValueOrDefault("dtls.cookies.verified"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.GetValueOrDefault("dtls.datagrams.dropped|reason=malformed"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.ContainsKey("dtls.sessions.active"), Is.True);

        Assert.That(logger.EventIds, Does.Contain(1), "started");
        Assert.That(logger.EventIds, Does.Contain(10), "handshake completed");
        Assert.That(logger.EventIds, Does.Contain(21), "datagram dropped");
        Assert.That(logger.EventIds, Does.Contain(2), "stopped");
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly ConcurrentQueue<int> _events = new();

        public IReadOnlyCollection<int> EventIds => [.. _events];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            _ = formatter(state, exception);
            _events.Enqueue(eventId.Id);
        }
    }
}
