using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
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
                if (tag.Key == "error.type")
                {
                    key += $"|{tag.Key}={tag.Value}";
                }
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
            LoggerFactory = logger,
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

        Assert.That(measurements.GetValueOrDefault("dtls.server.handshake.duration"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.GetValueOrDefault("dtls.client.handshake.duration"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.GetValueOrDefault("dtls.server.cookies.sent"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.GetValueOrDefault("dtls.server.cookies.verified"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.GetValueOrDefault("dtls.server.dropped_datagrams|error.type=malformed"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.ContainsKey("dtls.server.active_sessions"), Is.True);

        Assert.That(logger.EventIds, Does.Contain(1), "started");
        Assert.That(logger.EventIds, Does.Contain(10), "handshake completed");
        Assert.That(logger.EventIds, Does.Contain(21), "datagram dropped");
        Assert.That(logger.EventIds, Does.Contain(2), "stopped");
        Assert.That(logger.Categories, Is.SupersetOf(new[] { "OpenSsl.Dtls.DtlsListener", "OpenSsl.Dtls.DtlsContext", "OpenSsl.Dtls.DtlsSession" }), "the listener's factory makes the context's and the sessions' loggers too");
        Assert.That(logger.Entries(200).Single(e => e.Category == "OpenSsl.Dtls.DtlsSession").Message, Does.StartWith("DTLS server handshake with 127.0.0.1:").And.Contain("DTLSv1.2"), "the server session's handshake completed, at Debug");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task A_clients_logger_factory_gets_the_sessions_handshake_its_alerts_and_a_failing_callback_at_Warning(CancellationToken ct)
    {
        var logger = new CapturingLogger();
        DtlsListenerOptions options = Options();
        options.LoggerFactory = logger;
        await using DtlsListener listener = DtlsListener.Listen(options);
        await using EchoServer echo = EchoServer.Start(listener);
        var clientOptions = new DtlsClientOptions
        {
            TrustedCertificates = [Certificate],
            TargetHost = Host,
            LoggerFactory = logger,
            KeyLog = _ => throw new InvalidOperationException("key log store is full"),
        };

        Assert.That(async () => await DtlsClient.ConnectAsync(listener.LocalEndPoint, clientOptions, ct), Throws.InstanceOf<DtlsException>());
        // The client abandons the handshake with a fatal internal_error alert; the server logs it as received.
        Assert.That(await WaitUntilAsync(() => logger.Entries(202).Any(e => e.Message.Contains("internal error", StringComparison.Ordinal)), TimeSpan.FromSeconds(5), ct), Is.True, "the alert is logged");

        (string Category, LogLevel Level, string Message) warning = logger.Entries(203).Single();
        Assert.Multiple(() =>
        {
            Assert.That(warning.Category, Is.EqualTo("OpenSsl.Dtls.DtlsSession"));
            Assert.That(warning.Level, Is.EqualTo(LogLevel.Warning));
            Assert.That(warning.Message, Does.Contain("KeyLog"));
            Assert.That(logger.Entries(201).Select(e => e.Message), Has.Some.StartWith("DTLS client handshake with 127.0.0.1:").And.Some.Contain("failed"));
            (string _, LogLevel level, string message) = logger.Entries(202).Single(e => e.Message.Contains("internal error", StringComparison.Ordinal));
            Assert.That(level, Is.EqualTo(LogLevel.Debug));
            Assert.That(message, Does.Contain("received from"));
            Assert.That(logger.Entries(221).Single().Category, Is.EqualTo("OpenSsl.Dtls.DtlsClient"));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Refused_handshakes_are_logged_one_line_each_at_most_ten_a_second(CancellationToken ct)
    {
        byte[] key = Convert.FromHexString("00112233445566778899aabbccddeeff");
        var logger = new CapturingLogger();
        // The limiter's one-second window is on the listener's clock, here a FakeTimeProvider that
        // stands still during the flood: exactly one window's worth of lines gets through.
        var time = new FakeTimeProvider();
        DtlsListenerOptions options = Options(server: new DtlsServerOptions { PskKeyLookup = request => request.IdentityText == "device" ? key : null });
        await using DtlsListener listener = DtlsListener.Listen(new DtlsListenerOptions
        {
            LocalEndPoint = options.LocalEndPoint,
            ServerOptions = options.ServerOptions,
            LoggerFactory = logger,
            TimeProvider = time,
        });

        // A flood of handshakes the server refuses (an unknown PSK identity: it answers with an alert).
        using var stranger = new DtlsContext(new DtlsClientOptions { PskIdentityText = "stranger", PskKey = key, HandshakeTimeout = TimeSpan.FromSeconds(5) });
        int attempts = 0;
        while (attempts < 30)
        {
            attempts++;
            Assert.That(async () => await (await DtlsClient.ConnectAsync(listener.LocalEndPoint, stranger, ct)).DisposeAsync(), Throws.InstanceOf<DtlsException>());
        }

        Assert.That(await WaitUntilAsync(() => listener.Statistics.HandshakesFailed == attempts, TimeSpan.FromSeconds(5), ct), Is.True, "every refusal of the flood is counted");
        int linesDuringFlood = logger.Messages(14).Length;

        // One more refusal once the second has passed: its line reports how many were held back.
        time.Advance(TimeSpan.FromSeconds(1));
        attempts++;
        Assert.That(async () => await (await DtlsClient.ConnectAsync(listener.LocalEndPoint, stranger, ct)).DisposeAsync(), Throws.InstanceOf<DtlsException>());
        Assert.That(await WaitUntilAsync(() => listener.Statistics.HandshakesFailed == attempts, TimeSpan.FromSeconds(5), ct), Is.True, "every refusal is counted");
        Assert.That(await WaitUntilAsync(() => logger.Messages(14).Length == linesDuringFlood + 1, TimeSpan.FromSeconds(5), ct), Is.True, "the refusal after the flood is logged");
        string[] lines = logger.Messages(14);
        long heldBack = lines.Sum(l => long.Parse(System.Text.RegularExpressions.Regex.Match(l, @"\((\d+) similar lines").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        TestContext.Out.WriteLine($"{attempts - 1} refused handshakes within one second of the listener's clock gave {linesDuringFlood} log lines; then: {lines[^1]}");
        Assert.Multiple(() =>
        {
            Assert.That(lines[0], Does.Contain("unknown PSK identity").And.Contain("psk identity not found"), "the line says why: the alert and OpenSSL's reason");
            Assert.That(linesDuringFlood, Is.EqualTo(10), "ten lines a second, no more");
            Assert.That(lines[^1], Does.Contain($"({attempts - 1 - 10} similar lines held back"), "the first line of the next second counts the ones held back");
            Assert.That(lines.Length + heldBack, Is.EqualTo(attempts), "every refusal is either a line or counted in a later line");
        });
    }

    /// <summary>A logger factory whose loggers all write to one list, remembering each entry's category.</summary>
    private sealed class CapturingLogger : ILogger, ILoggerFactory
    {
        private readonly ConcurrentQueue<string> _categories = new();

        public IReadOnlyCollection<string> Categories => [.. _categories];

        public (string Category, LogLevel Level, string Message)[] Entries(int eventId) => [.. _entries.Where(e => e.Id == eventId).Select(e => (e.Category, e.Level, e.Message))];

        public ILogger CreateLogger(string categoryName)
        {
            _categories.Enqueue(categoryName);
            return new CapturingLogger(this, categoryName);
        }

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

        public void Dispose()
        {
        }

        private readonly ConcurrentQueue<int> _events = new();
        private readonly ConcurrentQueue<(int Id, string Message)> _messages = new();
        private readonly ConcurrentQueue<(int Id, string Category, LogLevel Level, string Message)> _entries = new();
        private readonly string _category = string.Empty;

        public CapturingLogger()
        {
        }

        private CapturingLogger(CapturingLogger root, string category)
        {
            _events = root._events;
            _messages = root._messages;
            _entries = root._entries;
            _categories = root._categories;
            _category = category;
        }

        public IReadOnlyCollection<int> EventIds => [.. _events];

        public string[] Messages(int eventId) => [.. _messages.Where(m => m.Id == eventId).Select(m => m.Message)];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            _messages.Enqueue((eventId.Id, formatter(state, exception)));
            _entries.Enqueue((eventId.Id, _category, logLevel, formatter(state, exception)));
            _events.Enqueue(eventId.Id);
        }
    }
}
