using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using OpenSslDtls.Samples.Tests;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// <see cref="DtlsListener.UpdateServerOptions"/> (issue 11 §2, certificate renewal): sessions
/// established before the swap keep echoing, openssl s_client's new handshakes receive the new
/// certificate, and invalid new options are refused with the setting named while the old ones stay.
/// </summary>
public class CertificateRenewalTests
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(20);

    private static DtlsServerOptions ServerWith(X509Certificate2 certificate) => new()
    {
        Certificate = certificate,
        HandshakeTimeout = TimeSpan.FromSeconds(10),
        SessionCacheSize = 0,
        EnableSessionTickets = false,
    };

    /// <summary>A running s_client, its handshake done; the common name of the certificate it received.</summary>
    private static async Task<(PeerProcess Peer, string CommonName)> SClientAsync(DtlsListener listener)
    {
        PeerProcess peer = PeerProcess.Start(ExternalTool.Require("openssl", "openssl"), ["s_client", "-dtls1_2", "-connect", listener.LocalEndPoint.ToString()]);
        await peer.WaitUntilAsync(p => p.StandardOutput.Contains("Cipher is", StringComparison.Ordinal), PeerTimeout, "s_client's handshake");
        string[] names = [.. Regex.Matches(peer.StandardOutput, @"subject=CN ?= ?([a-z.-]+)").Select(m => m.Groups[1].Value).Distinct()];
        Assert.That(names, Has.Length.EqualTo(1), peer.Report());
        return (peer, names[0]);
    }

    private static async Task SClientEchoAsync(PeerProcess peer, string line)
    {
        peer.Write(line + "\n");
        await peer.WaitUntilAsync(p => p.StandardOutput.Split('\n').Any(l => l.TrimEnd('\r') == line), PeerTimeout, $"the echo of {line}");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Sessions_from_before_the_renewal_keep_echoing_and_new_handshakes_get_the_new_certificate(CancellationToken ct)
    {
        X509Certificate2 old = CreateCertificate("old.localhost");
        X509Certificate2 renewed = CreateCertificate("renewed.localhost");
        await using DtlsListener listener = DtlsListener.Listen(Options(ServerWith(old)));
        await using EchoServer echo = EchoServer.Start(listener);

        (PeerProcess before, string beforeName) = await SClientAsync(listener);
        await using (before)
        {
            await SClientEchoAsync(before, "before-the-renewal");
            using var oldTrust = new DtlsContext(new DtlsClientOptions { TrustedCertificates = [old], TargetHost = Host, AllowSessionResumption = false });
            using Client ours = await ConnectAsync(listener, oldTrust, ct);

            // An invalid renewal (a certificate without its private key) is refused naming the setting; nothing changes.
            using X509Certificate2 publicOnly = X509CertificateLoader.LoadCertificate(renewed.RawData);
            Assert.That(() => listener.UpdateServerOptions(ServerWith(publicOnly)), Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo(nameof(DtlsServerOptions.Certificate)));
            (PeerProcess stillOld, string stillOldName) = await SClientAsync(listener);
            await stillOld.DisposeAsync();

            listener.UpdateServerOptions(ServerWith(renewed));

            // The live sessions carry on: s_client's and ours, in both directions.
            await SClientEchoAsync(before, "after-the-renewal-on-the-old-session");
            await EchoAsync(ours.Session, [7, 7, 7], ct);

            (PeerProcess after, string afterName) = await SClientAsync(listener);
            await using (after)
            {
                await SClientEchoAsync(after, "on-the-new-certificate");
            }

            using var newTrust = new DtlsContext(new DtlsClientOptions { TrustedCertificates = [renewed], TargetHost = Host, AllowSessionResumption = false });
            using Client ourNew = await ConnectAsync(listener, newTrust, ct);
            await EchoAsync(ourNew.Session, [8, 8], ct);
            Assert.That(async () => (await ConnectAsync(listener, oldTrust, ct)).Dispose(), Throws.InstanceOf<DtlsAuthenticationException>(), "the old certificate is no longer offered");

            Assert.Multiple(() =>
            {
                Assert.That(beforeName, Is.EqualTo("old.localhost"));
                Assert.That(stillOldName, Is.EqualTo("old.localhost"), "a refused renewal changes nothing");
                Assert.That(afterName, Is.EqualTo("renewed.localhost"));
                Assert.That(listener.Statistics.HandshakesCompleted, Is.EqualTo(5), listener.Statistics.ToString());
            });
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task After_a_renewal_handshakes_keep_the_listeners_meter_factory_logger_factory_and_clock(CancellationToken ct)
    {
        // The listener's clock is a FakeTimeProvider: the renewed settings' HandshakeTimeout passes when the test says.
        var clock = new FakeTimeProvider();
        using var meters = new TestMeterFactory();
        using var durations = new MetricCollector<double>(meters, DtlsMetrics.MeterName, DtlsMetrics.ServerHandshakeDuration);
        var logger = new LineLogger();
        DtlsListenerOptions options = Options(ServerWith(CreateCertificate("old.localhost")));
        options.MeterFactory = meters;
        options.LoggerFactory = logger;
        options.TimeProvider = clock;
        await using DtlsListener listener = DtlsListener.Listen(options);
        await using EchoServer echo = EchoServer.Start(listener);

        listener.UpdateServerOptions(ServerWith(CreateCertificate("renewed.localhost")));

        (PeerProcess peer, string name) = await SClientAsync(listener);
        await using (peer)
        {
            await SClientEchoAsync(peer, "measured-after-the-renewal");
        }

        string report = $"{listener.Statistics}\n{string.Join("\n", logger.Lines)}";
        Assert.That(await WaitUntilAsync(() => durations.GetMeasurementSnapshot().Count == 1, TimeSpan.FromSeconds(5), ct), Is.True, "s_client's handshake on the listener's meter factory\n" + report);
        Assert.Multiple(() =>
        {
            Assert.That(name, Is.EqualTo("renewed.localhost"));
            Assert.That(logger.Entries.Count(e => e.Category == "OpenSsl.Dtls.DtlsSession" && e.EventId == 200), Is.EqualTo(1), "the handshake's completion logged by the listener's logger factory\n" + report);
        });

        // A handshake that stalls after the cookie ends at the renewed HandshakeTimeout of the listener's clock.
        using Socket raw = RawSocket();
        byte[] cookie = await RawDtls.GetCookieAsync(raw, listener.LocalEndPoint, ct);
        await raw.SendToAsync(RawDtls.WithCookie(await RawDtls.ClientHelloAsync(), cookie), listener.LocalEndPoint, ct);
        Assert.That(RawDtls.IsHandshake(await ReceiveAsync(raw, TimeSpan.FromSeconds(5), ct), RawDtls.HandshakeServerHello), Is.True);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.That(await WaitUntilAsync(() => listener.Statistics.HandshakesTimedOut == 1, TimeSpan.FromSeconds(5), ct), Is.True, "timed out on the FakeTimeProvider\n" + listener.Statistics);
        Assert.That(durations.GetMeasurementSnapshot().Count(m => m.Tags.ContainsKey("error.type")), Is.EqualTo(1), "the timeout measured too");
    }
}
