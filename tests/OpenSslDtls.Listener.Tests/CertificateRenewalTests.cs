using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
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
}
