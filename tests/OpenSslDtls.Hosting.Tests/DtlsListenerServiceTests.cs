using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSsl.Dtls.Hosting;
using OpenSslDtls.Samples.Tests;
using static OpenSslDtls.Hosting.Tests.HostingKit;

namespace OpenSslDtls.Hosting.Tests;

/// <summary>
/// AddDtlsListener in a Generic Host built by the test: options bound from an in-memory configuration,
/// sessions served to openssl s_client, the drain on stop, and the health check.
/// </summary>
public sealed class DtlsListenerServiceTests : PeerProcessTestBase
{
    private static string OpenSsl => ExternalTool.Require("openssl", "openssl");

    private static async Task<IHost> StartWithMaxSessionsAsync(int maxSessions)
    {
        Dictionary<string, string?> settings = CertificateSettings(TestPki.Shared);
        settings["Dtls:Listener:MaxSessions"] = maxSessions.ToString(System.Globalization.CultureInfo.InvariantCulture);
        IHost host = Build(settings);
        await host.StartAsync();
        return host;
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Certificate_and_limits_bound_from_configuration_serve_s_client_verifying_the_CA()
    {
        using IHost host = await StartWithMaxSessionsAsync(7);

        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{Port(host)}", "-CAfile", Pki.CaFile, "-verify_return_error", "-servername", "localhost");
        await HandshakeDoneAsync(client);
        await EchoThroughAsync(client, Payload("bound"));

        HealthReport health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Multiple(() =>
        {
            Assert.That(client.StandardOutput, Does.Contain("Verify return code: 0 (ok)"));
            Assert.That(health.Status, Is.EqualTo(HealthStatus.Healthy), health.Entries["dtls"].Description);
            Assert.That(health.Entries["dtls"].Data["maxSessionsPerEndpoint"], Is.EqualTo(7));
            Assert.That(host.Services.GetDtlsListenerService().State, Is.EqualTo(DtlsListenerState.Listening));
        });
        await host.StopAsync();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task The_listener_measures_through_the_hosts_meter_factory()
    {
        using IHost host = Build(CertificateSettings(Pki));
        var hostMeters = host.Services.GetRequiredService<IMeterFactory>();
        var handshakes = new List<double>();
        using var meterListener = new MeterListener();
        // Only the instruments of the meter the host's factory made: a static Meter would not be seen here.
        meterListener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == DtlsMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, hostMeters))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meterListener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == DtlsMetrics.ServerHandshakeDuration)
            {
                lock (handshakes)
                {
                    handshakes.Add(value);
                }
            }
        });
        meterListener.Start();
        await host.StartAsync();

        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{Port(host)}", "-CAfile", Pki.CaFile, "-quiet");
        await EchoThroughAsync(client, Payload("measured"));
        await host.StopAsync();

        lock (handshakes)
        {
            Assert.That(handshakes, Has.Count.EqualTo(1), "one server handshake recorded by the host's meter");
            Assert.That(handshakes[0], Is.GreaterThan(0));
        }
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Psk_keys_from_configuration_and_from_a_file_authenticate_s_client_and_others_are_refused()
    {
        string file = Path.Combine(Repository.Scratch, $"psk-{Guid.NewGuid():N}.txt");
        File.WriteAllLines(file, ["# identity:hexkey", "", "sensor-7:0F0E0D0C0B0A09080706050403020100", "hex:00FF01:A1A2A3A4"]);
        using IHost host = Build(new Dictionary<string, string?>
        {
            ["Dtls:Endpoints:0:Address"] = "127.0.0.1",
            ["Dtls:Endpoints:0:Port"] = "0",
            ["Dtls:PskKeys:device-1"] = "00112233445566778899AABBCCDDEEFF",
            ["Dtls:PskKeysFile"] = file,
        });
        await host.StartAsync();
        string port = Port(host).ToString(System.Globalization.CultureInfo.InvariantCulture);

        foreach ((string identity, string key) in new[] { ("device-1", "00112233445566778899AABBCCDDEEFF"), ("sensor-7", "0F0E0D0C0B0A09080706050403020100") })
        {
            PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-psk_identity", identity, "-psk", key);
            await HandshakeDoneAsync(client);
            await EchoThroughAsync(client, Payload(identity));
        }

        // An unknown identity, and a known one with the wrong key: the handshake fails with an alert.
        foreach ((string identity, string key) in new[] { ("nobody", "00112233445566778899AABBCCDDEEFF"), ("device-1", "FFEEDDCCBBAA99887766554433221100") })
        {
            PeerProcess refused = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-psk_identity", identity, "-psk", key);
            Assert.That(await refused.WaitForExitAsync(Bound), Is.Not.Zero, refused.Report());
            Assert.That(refused.StandardError + refused.StandardOutput, Does.Contain("alert"), refused.Report());
        }

        await host.StopAsync();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task MaxSessions_from_configuration_refuses_the_next_peer_and_the_health_check_says_degraded()
    {
        using IHost host = await StartWithMaxSessionsAsync(1);
        DtlsListenerService service = host.Services.GetDtlsListenerService();
        PeerProcess first = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{Port(host)}", "-CAfile", Pki.CaFile, "-quiet");
        await EchoThroughAsync(first, Payload("first"));

        PeerProcess second = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{Port(host)}", "-CAfile", Pki.CaFile, "-quiet");
        await second.WaitUntilAsync(_ => service.Listeners[0].Statistics.RefusedOverSessionLimit > 0, Bound, "the second peer refused over MaxSessions");

        HealthReport health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Degraded), health.Entries["dtls"].Description);
        Assert.That(health.Entries["dtls"].Description, Does.Contain("MaxSessions (1)"));
        await EchoThroughAsync(first, Payload("still"));
        await host.StopAsync();
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Stop_drains_lets_a_running_session_finish_and_closes_sessions_that_arrive_meanwhile()
    {
        using IHost host = Build(CertificateSettings(Pki), shutdownTimeout: TimeSpan.FromSeconds(40));
        await host.StartAsync();
        DtlsListenerService service = host.Services.GetDtlsListenerService();
        string port = Port(host).ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Without -quiet, s_client ends its session (close_notify) at the end of its stdin.
        PeerProcess running = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-CAfile", Pki.CaFile);
        await HandshakeDoneAsync(running);
        await EchoThroughAsync(running, Payload("before"));

        Task stop = host.StopAsync();
        await running.WaitUntilAsync(_ => service.State == DtlsListenerState.Draining, Bound, "the service draining");

        await EchoThroughAsync(running, Payload("during"));
        PeerProcess late = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-CAfile", Pki.CaFile, "-quiet");
        await late.WaitForExitAsync(Bound); // it reads close_notify right after its handshake
        Assert.That(service.SessionsRefusedWhileDraining, Is.EqualTo(1));
        Assert.That(stop.IsCompleted, Is.False, "the running session is still being served");

        var clock = Stopwatch.StartNew();
        running.CloseInput();
        await stop.WaitAsync(Bound);
        Assert.Multiple(() =>
        {
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(15)), "the stop ended with the session, not at the 40 s shutdown timeout");
            Assert.That(service.State, Is.EqualTo(DtlsListenerState.Stopped));
            Assert.That(service.SessionsServed, Is.EqualTo(1));
        });
        HealthReport health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Unhealthy));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task At_the_shutdown_timeout_the_handlers_are_cancelled_and_their_sessions_closed()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string? ended = null;
        using IHost host = Build(
            CertificateSettings(Pki),
            async (session, token) =>
            {
                using CancellationTokenRegistration registration = token.Register(() => cancelled.TrySetResult());
                try
                {
                    await EchoAsync(session, token);
                    ended = "the echo loop returned";
                }
                catch (Exception e)
                {
                    ended = e.GetType().Name + ": " + e.Message;
                    throw;
                }
            },
            shutdownTimeout: TimeSpan.FromSeconds(1.5));
        await host.StartAsync();
        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{Port(host)}", "-CAfile", Pki.CaFile, "-quiet");
        await EchoThroughAsync(client, Payload("held"));

        var clock = Stopwatch.StartNew();
        await host.StopAsync().WaitAsync(Bound);
        TimeSpan took = clock.Elapsed;

        Assert.Multiple(() =>
        {
            Assert.That(cancelled.Task.IsCompleted, Is.True, $"the handler's token was cancelled (the handler ended: {ended}; {client.Report()})");
            Assert.That(took, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1.4)).And.LessThan(TimeSpan.FromSeconds(8)), "the drain lasted the shutdown timeout");
        });
        // s_client -quiet ends only when it reads close_notify.
        await client.WaitForExitAsync(Bound);
    }

    [TestCase("00:00:01")]
    [TestCase("00:00:02")]
    [CancelAfter(60_000)]
    public async Task An_idle_timeout_ends_the_handler_quietly_and_closes_s_client(string idleTimeout)
    {
        // The README's handler: it lets the TimeoutException of an idle session escape.
        Dictionary<string, string?> settings = CertificateSettings(Pki);
        settings["Dtls:Listener:IdleTimeout"] = idleTimeout;
        var logs = new LogCapture();
        using IHost host = Build(settings, services: s => s.AddSingleton<ILoggerProvider>(logs));
        await host.StartAsync();
        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{Port(host)}", "-CAfile", Pki.CaFile, "-quiet");
        await EchoThroughAsync(client, Payload("then-idle"));

        await logs.WaitForAsync(m => m.Any(l => l.Contains("ended:", StringComparison.Ordinal) && l.Contains("IdleTimeout", StringComparison.Ordinal)), Bound, "the idle session's end");
        // s_client -quiet ends only when it reads close_notify.
        await client.WaitForExitAsync(Bound);
        await host.StopAsync();
        Assert.That(logs.AtOrAbove(LogLevel.Warning), Is.Empty, "an idle timeout is a normal end: nothing at Warning or Error");
    }
}
