using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using OpenSslDtls.Samples.Tests;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// Metrics through an <see cref="System.Diagnostics.Metrics.IMeterFactory"/> and handshake traces
/// (issue 11 §3), on both sides, against openssl s_client and s_server (peers nobody here wrote), for
/// handshakes that complete and handshakes that fail.
/// </summary>
public class TelemetryTests
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(20);

    private static readonly Lazy<string> LazyServerKeyFile = new(() =>
    {
        string file = PeerCredentials.NewFile("server.key");
        using ECDsa key = Certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(file, key.ExportPkcs8PrivateKeyPem() + "\n");
        return file;
    });

    [Test]
    [CancelAfter(60_000)]
    public async Task An_openssl_s_client_handshake_is_measured_on_the_listeners_meter_factory_and_traced(CancellationToken ct)
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        using var meters = new TestMeterFactory();
        using var durations = new MetricCollector<double>(meters, DtlsMetrics.MeterName, DtlsMetrics.ServerHandshakeDuration);
        using var active = new MetricCollector<long>(meters, DtlsMetrics.MeterName, DtlsMetrics.ServerActiveSessions);
        using var inProgress = new MetricCollector<long>(meters, DtlsMetrics.MeterName, DtlsMetrics.ServerActiveHandshakes);
        using var cookies = new MetricCollector<long>(meters, DtlsMetrics.MeterName, DtlsMetrics.ServerCookiesSent);
        using var activities = new ActivityRecorder();
        DtlsListenerOptions options = Options();
        options.MeterFactory = meters;
        await using DtlsListener listener = DtlsListener.Listen(options);
        await using EchoServer echo = EchoServer.Start(listener);
        int port = listener.LocalEndPoint.Port;

        await using (PeerProcess peer = PeerProcess.Start(openssl, ["s_client", "-dtls1_2", "-connect", listener.LocalEndPoint.ToString(), "-CAfile", PeerCredentials.ServerCertificateFile, "-verify_return_error"]))
        {
            await peer.WaitUntilAsync(p => p.StandardOutput.Contains("Cipher is", StringComparison.Ordinal), PeerTimeout, "s_client's handshake");
            peer.Write("telemetry\n");
            await peer.WaitUntilAsync(p => p.StandardOutput.Split('\n').Any(l => l.TrimEnd('\r') == "telemetry"), PeerTimeout, "the echo");
            Assert.That(Sum(active), Is.EqualTo(1), $"one server session active\n{peer.Report()}");
            peer.CloseInput(); // s_client sends close_notify; the echo server then disposes the session
            await peer.WaitForExitAsync(PeerTimeout);
        }

        Assert.That(await WaitUntilAsync(() => Sum(active) == 0, TimeSpan.FromSeconds(10), ct), Is.True, "the disposed session is no longer active");
        CollectedMeasurement<double> duration = durations.GetMeasurementSnapshot().Single();
        Assert.Multiple(() =>
        {
            Assert.That(duration.Value, Is.GreaterThan(0).And.LessThan(PeerTimeout.TotalSeconds), "seconds");
            Assert.That(duration.Tags["tls.protocol.version"], Is.EqualTo("1.2"));
            Assert.That(duration.Tags["server.port"], Is.EqualTo(port));
            Assert.That(duration.Tags["server.address"], Is.EqualTo("127.0.0.1"));
            Assert.That(duration.Tags["network.transport"], Is.EqualTo("udp"));
            Assert.That(duration.Tags["network.type"], Is.EqualTo("ipv4"));
            Assert.That(duration.Tags, Does.Not.ContainKey("error.type"));
            Assert.That(Sum(inProgress), Is.Zero, "no handshake left in progress");
            Assert.That(inProgress.GetMeasurementSnapshot().Select(m => m.Value), Is.EqualTo(new long[] { 1, -1 }));
            Assert.That(Sum(cookies), Is.EqualTo(listener.Statistics.CookiesSent).And.GreaterThanOrEqualTo(1));
        });

        Activity handshake = activities.Handshakes(ActivityKind.Server, port).Single();
        Assert.Multiple(() =>
        {
            Assert.That(handshake.Parent, Is.Null, "a server handshake is a root activity");
            Assert.That(handshake.Status, Is.EqualTo(ActivityStatusCode.Unset));
            Assert.That(handshake.GetTagItem("dtls.role"), Is.EqualTo("server"));
            Assert.That(handshake.GetTagItem("tls.protocol.version"), Is.EqualTo("1.2"));
            Assert.That(handshake.GetTagItem("tls.cipher"), Does.StartWith("TLS_ECDHE_ECDSA_WITH_"));
            Assert.That(handshake.GetTagItem("tls.resumed"), Is.EqualTo(false));
            Assert.That(handshake.GetTagItem("network.peer.address"), Is.EqualTo("127.0.0.1"));
            Assert.That(handshake.Duration.TotalSeconds, Is.EqualTo(duration.Value).Within(0.5));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task An_unknown_PSK_identity_from_openssl_s_client_is_measured_and_traced_with_its_error_type(CancellationToken ct)
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        byte[] key = Convert.FromHexString("00112233445566778899aabbccddeeff");
        using var meters = new TestMeterFactory();
        using var durations = new MetricCollector<double>(meters, DtlsMetrics.MeterName, DtlsMetrics.ServerHandshakeDuration);
        using var active = new MetricCollector<long>(meters, DtlsMetrics.MeterName, DtlsMetrics.ServerActiveSessions);
        using var activities = new ActivityRecorder();
        DtlsListenerOptions options = Options(server: new DtlsServerOptions { PskKeyLookup = request => request.IdentityText == "device" ? key : null });
        options.MeterFactory = meters;
        await using DtlsListener listener = DtlsListener.Listen(options);

        await using (PeerProcess peer = PeerProcess.Start(openssl, ["s_client", "-dtls1_2", "-connect", listener.LocalEndPoint.ToString(), "-psk_identity", "stranger", "-psk", Convert.ToHexString(key), "-cipher", "PSK-AES128-GCM-SHA256"]))
        {
            await peer.WaitForExitAsync(PeerTimeout);
            await durations.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));
            CollectedMeasurement<double> failed = durations.GetMeasurementSnapshot().Single();
            Assert.That(failed.Tags["error.type"], Is.EqualTo("unknown_psk_identity"), peer.Report());
            Assert.That(failed.Tags, Does.Not.ContainKey("tls.protocol.version"));
        }

        Activity handshake = activities.Handshakes(ActivityKind.Server, listener.LocalEndPoint.Port).Single();
        Assert.Multiple(() =>
        {
            Assert.That(handshake.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(handshake.StatusDescription, Does.Contain("unknown PSK identity"));
            Assert.That(handshake.GetTagItem("error.type"), Is.EqualTo("unknown_psk_identity"));
            Assert.That(active.GetMeasurementSnapshot(), Is.Empty, "a failed handshake never counts as an active session");
            Assert.That(listener.Statistics.HandshakesFailed, Is.EqualTo(1));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Our_clients_handshakes_with_openssl_s_server_are_measured_and_traced_under_the_callers_activity(CancellationToken ct)
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        int port = FreeUdpPort();
        await using PeerProcess server = PeerProcess.Start(openssl, ["s_server", "-dtls1_2", "-accept", $"127.0.0.1:{port}", "-cert", PeerCredentials.ServerCertificateFile, "-key", LazyServerKeyFile.Value]);
        await server.WaitForOutputLineAsync("ACCEPT", PeerTimeout);
        using var meters = new TestMeterFactory();
        using var durations = new MetricCollector<double>(meters, DtlsMetrics.MeterName, DtlsMetrics.ClientHandshakeDuration);
        using var active = new MetricCollector<long>(meters, DtlsMetrics.MeterName, DtlsMetrics.ClientActiveSessions);
        using var activities = new ActivityRecorder();
        var endpoint = new IPEndPoint(IPAddress.Loopback, port);

        using var parent = new Activity("application operation");
        parent.Start();
        await using (DtlsSession session = await DtlsClient.ConnectAsync(endpoint, new DtlsClientOptions { TrustedCertificates = [Certificate], TargetHost = Host, MeterFactory = meters }, ct))
        {
            await session.SendAsync("client telemetry\n"u8.ToArray(), ct);
            await server.WaitUntilAsync(p => p.StandardOutput.Contains("client telemetry", StringComparison.Ordinal), PeerTimeout, "s_server got our datagram");
            Assert.That(Sum(active), Is.EqualTo(1));
            await session.ShutdownAsync(ct);
        }

        Assert.That(Sum(active), Is.Zero, "disposed: no longer active");

        // The same server with a certificate this client does not trust: a certificate failure.
        var untrusting = new DtlsClientOptions { TrustedCertificates = [OtherCertificate()], TargetHost = Host, MeterFactory = meters };
        Assert.That(async () => await DtlsClient.ConnectAsync(endpoint, untrusting, ct), Throws.InstanceOf<DtlsAuthenticationException>());
        parent.Stop();

        IReadOnlyList<CollectedMeasurement<double>> measured = durations.GetMeasurementSnapshot();
        Assert.That(measured, Has.Count.EqualTo(2), server.Report());
        Assert.Multiple(() =>
        {
            Assert.That(measured[0].Tags["tls.protocol.version"], Is.EqualTo("1.2"));
            Assert.That(measured[0].Tags["server.address"], Is.EqualTo(Host), "the TargetHost");
            Assert.That(measured[0].Tags["server.port"], Is.EqualTo(port));
            Assert.That(measured[0].Tags, Does.Not.ContainKey("error.type"));
            Assert.That(measured[1].Tags["error.type"], Is.EqualTo("certificate_chain"));
            Assert.That(measured[1].Tags["server.port"], Is.EqualTo(port));
        });

        Activity[] handshakes = activities.Handshakes(ActivityKind.Client, port);
        Assert.That(handshakes, Has.Length.EqualTo(2));
        Assert.Multiple(() =>
        {
            Assert.That(handshakes.Select(h => h.ParentId), Is.All.EqualTo(parent.Id), "children of the caller's activity");
            Assert.That(handshakes[0].Status, Is.EqualTo(ActivityStatusCode.Unset));
            Assert.That(handshakes[0].GetTagItem("tls.cipher"), Does.StartWith("TLS_ECDHE_ECDSA_WITH_"));
            Assert.That(handshakes[0].GetTagItem("dtls.role"), Is.EqualTo("client"));
            Assert.That(handshakes[1].Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(handshakes[1].GetTagItem("error.type"), Is.EqualTo("certificate_chain"));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task A_clients_HandshakeTimeout_runs_on_its_TimeProvider_and_is_measured_as_a_timeout([Values(5, 30, 120)] int timeoutSeconds, CancellationToken ct)
    {
        TimeSpan timeout = TimeSpan.FromSeconds(timeoutSeconds);
        using Socket silent = RawSocket(); // a bound socket that never answers
        var clock = new FakeTimeProvider();
        using var meters = new TestMeterFactory();
        using var durations = new MetricCollector<double>(meters, DtlsMetrics.MeterName, DtlsMetrics.ClientHandshakeDuration);
        var options = new DtlsClientOptions { TrustedCertificates = [Certificate], TargetHost = Host, HandshakeTimeout = timeout, TimeProvider = clock, MeterFactory = meters };
        var real = Stopwatch.StartNew();
        Task<DtlsSession> connecting = DtlsClient.ConnectAsync(silent.LocalEndPoint!, options, ct);
        Assert.That(await ReceiveAsync(silent, TimeSpan.FromSeconds(5), ct), Is.Not.Null, "the ClientHello went out: the deadline is set");

        clock.Advance(timeout - TimeSpan.FromMilliseconds(1));
        Assert.That(connecting.IsCompleted, Is.False, "not before HandshakeTimeout on the provider's clock");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Exception? failure = null;
        try
        {
            await (await connecting.WaitAsync(TimeSpan.FromSeconds(5), ct)).DisposeAsync();
        }
        catch (TimeoutException e)
        {
            failure = e;
        }

        Assert.Multiple(() =>
        {
            Assert.That(failure, Is.Not.Null.And.Message.Contain($"{timeoutSeconds} s (HandshakeTimeout)"));
            Assert.That(real.Elapsed, Is.LessThan(timeout), "no real waiting for the timeout");
            CollectedMeasurement<double> measured = durations.GetMeasurementSnapshot().Single();
            Assert.That(measured.Tags["error.type"], Is.EqualTo("timeout"));
            Assert.That(measured.Value, Is.EqualTo(timeout.TotalSeconds).Within(0.001), "the duration is on the provider's clock too");
        });
    }

    [Test]
    public void A_null_TimeProvider_is_refused_at_creation_with_the_setting_named()
    {
        Assert.That(() => new DtlsContext(new DtlsClientOptions { TimeProvider = null! }), Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("TimeProvider"));
        Assert.That(() => new DtlsContext(new DtlsServerOptions { Certificate = Certificate, TimeProvider = null! }), Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("TimeProvider"));
    }

    private static long Sum(MetricCollector<long> collector) => collector.GetMeasurementSnapshot().Sum(m => m.Value);

    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static X509Certificate2 OtherCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
