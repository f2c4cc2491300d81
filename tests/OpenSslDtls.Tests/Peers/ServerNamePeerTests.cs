using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.Tests;
using OpenSslDtls.Tests.Dtls;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// Names and hints chosen by the peer (issue 11 §2), proven with peers nobody here wrote: a server
/// picks its certificate by the SNI that openssl s_client and gnutls-cli send
/// (<see cref="DtlsServerOptions.ServerContextSelector"/>, RFC 6066 §3), and a client picks its PSK
/// identity by the hint openssl s_server sends (<see cref="DtlsClientOptions.PskCredentialSelector"/>,
/// RFC 4279 §2).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ServerNamePeerTests : CommandLinePeers
{
    private static readonly byte[] Key = Convert.FromHexString("5f1e2d3c4b5a69788796a5b4c3d2e1f0");

    private static X509Certificate2 CertificateFor(string host) => TestPki.CreateSelfSigned(KeyKind.EcdsaP256, host).ToX509Certificate2();

    [Test]
    [CancelAfter(120_000)]
    public async Task Openssl_s_client_and_gnutls_cli_receive_the_certificate_of_the_name_they_send()
    {
        using var alpha = new DtlsContext(new DtlsServerOptions { Certificate = CertificateFor("alpha.example") });
        using var beta = new DtlsContext(new DtlsServerOptions { Certificate = CertificateFor("beta.example") });
        var asked = new ConcurrentQueue<string?>();
        await using var listener = EchoListener.Start(new DtlsServerOptions
        {
            Certificate = CertificateFor("default.example"),
            ServerContextSelector = name =>
            {
                asked.Enqueue(name);
                return name switch { "alpha.example" => alpha, "beta.example" => beta, _ => null };
            },
        });

        // (tool, name sent or null for none, the certificate's name expected)
        (string Tool, string? Name, string Expected)[] cases =
        [
            ("openssl", "alpha.example", "alpha.example"),
            ("openssl", "beta.example", "beta.example"),
            ("openssl", null, "default.example"),
            ("openssl", "unknown.example", "default.example"),
            ("gnutls", "beta.example", "beta.example"),
            ("gnutls", "alpha.example", "alpha.example"),
        ];
        foreach ((string tool, string? name, string expected) in cases)
        {
            string line = $"sni-{tool}-{name ?? "none"}";
            PeerProcess peer = tool == "openssl"
                ? Start(OpenSsl, ["s_client", "-dtls1_2", "-connect", $"127.0.0.1:{listener.Port}", .. name is null ? new[] { "-noservername" } : ["-servername", name]])
                : Start(GnutlsCli, ["-u", "--insecure", "-p", listener.Port, "--sni-hostname", name!, "127.0.0.1"]);
            string ready = tool == "openssl" ? "Cipher is" : "Handshake was completed";
            await peer.WaitUntilAsync(p => p.StandardOutput.Contains(ready, StringComparison.Ordinal), Bound, $"{tool}'s handshake");
            peer.Write(line + "\n");
            await peer.WaitUntilAsync(p => p.StandardOutput.Split('\n').Any(l => l.TrimEnd('\r') == line), Bound, "the echo");
            AcceptedSession session = await listener.NextSessionAsync(Bound, peer.Report());

            // s_client prints "subject=CN = alpha.example", gnutls-cli "subject `CN=alpha.example'".
            MatchCollection subjects = Regex.Matches(peer.StandardOutput, @"subject[ =`]+CN ?= ?([a-z.]+)");
            Assert.Multiple(() =>
            {
                Assert.That(subjects.Select(m => m.Groups[1].Value).Distinct(), Is.EqualTo(new[] { expected }), $"{tool} with SNI '{name}'\n{peer.Report()}");
                Assert.That(session.TargetHostName, Is.EqualTo(name), "the server session reports the name the client sent");
            });
        }

        Assert.That(asked, Is.EqualTo(cases.Select(c => c.Name)), "the selector was asked once per handshake, with the name as sent");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_throwing_selector_fails_the_handshake_with_internal_error_and_the_listener_serves_the_next_peer()
    {
        await using var listener = EchoListener.Start(new DtlsServerOptions
        {
            Certificate = CertificateFor("default.example"),
            ServerContextSelector = name => name == "broken.example" ? throw new InvalidOperationException("the certificate store is down") : null,
        });

        PeerProcess broken = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{listener.Port}", "-servername", "broken.example");
        await broken.WaitUntilAsync(p => (p.StandardOutput + p.StandardError).Contains("alert internal error", StringComparison.Ordinal), Bound, "s_client reporting internal_error");

        PeerProcess good = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{listener.Port}", "-servername", "fine.example");
        await good.WaitUntilAsync(p => p.StandardOutput.Contains("Cipher is", StringComparison.Ordinal), Bound, "s_client's handshake");
        good.Write("after-the-broken-one\n");
        await good.WaitUntilAsync(p => p.StandardOutput.Contains("after-the-broken-one\n", StringComparison.Ordinal), Bound, "the echo");
        Assert.That((await listener.NextSessionAsync(Bound)).TargetHostName, Is.EqualTo("fine.example"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_client_chooses_its_PSK_identity_by_the_hint_of_openssl_s_server([Values("fleet-7", "fleet-8")] string hint, CancellationToken cancellationToken)
    {
        (PeerProcess server, IPEndPoint endPoint) = await StartOpenSslServerAsync("-nocert", "-psk", Convert.ToHexString(Key), "-psk_identity", "device-of-fleet-7", "-psk_hint", hint);
        var hints = new ConcurrentQueue<string>();
        using var context = new DtlsContext(new DtlsClientOptions
        {
            HandshakeTimeout = TimeSpan.FromSeconds(10),
            AllowSessionResumption = false,
            PskCredentialSelector = received =>
            {
                hints.Enqueue(Encoding.UTF8.GetString(received.Span));
                return received.Span.SequenceEqual("fleet-7"u8) ? new DtlsPskCredential("device-of-fleet-7", Key) : null;
            },
        });

        if (hint == "fleet-8")
        {
            // No credential for this server: the client abandons the handshake with a clear error.
            Exception? failure = await LoopbackPair.CaptureAsync(async () => await (await DtlsClient.ConnectAsync(endPoint, context, cancellationToken)).DisposeAsync());
            Assert.That(failure, Is.TypeOf<DtlsException>().And.Message.Contains("PskCredentialSelector returned no credential").And.Message.Contains("fleet-8"), server.Report());
            Assert.That(hints, Is.EqualTo(new[] { "fleet-8" }));
            return;
        }

        await using DtlsSession session = await DtlsClient.ConnectAsync(endPoint, context, cancellationToken);
        await session.SendAsync("chosen-by-hint\n"u8.ToArray(), cancellationToken);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("chosen-by-hint", StringComparison.Ordinal), Bound, "s_server printed our datagram");
        Assert.Multiple(() =>
        {
            Assert.That(hints, Is.EqualTo(new[] { "fleet-7" }));
            Assert.That(session.PskIdentityText, Is.EqualTo("device-of-fleet-7"));
            Assert.That(server.StandardOutput + server.StandardError, Does.Not.Contain("not what we expected"), server.Report());
        });
    }

    [Test]
    public void A_credential_with_an_unusable_identity_or_key_is_refused_when_made()
    {
        Assert.That(() => new DtlsPskCredential([], Key), Throws.ArgumentException.With.Property("ParamName").EqualTo("identity"));
        Assert.That(() => new DtlsPskCredential([0x41, 0x00, 0x42], Key), Throws.ArgumentException.With.Message.Contains("zero byte"));
        Assert.That(() => new DtlsPskCredential(new byte[DtlsPskLimits.MaxIdentityBytes + 1], Key), Throws.ArgumentException);
        Assert.That(() => new DtlsPskCredential("device", []), Throws.ArgumentException.With.Property("ParamName").EqualTo("key"));
        Assert.That(() => new DtlsPskCredential("device", new byte[DtlsPskLimits.MaxKeyBytes + 1]), Throws.ArgumentException.With.Property("ParamName").EqualTo("key"));
        Assert.That(() => new DtlsPskCredential("\ud800", Key), Throws.ArgumentException.With.Property("ParamName").EqualTo("identityText"));
        Assert.That(() => new DtlsContext(new DtlsClientOptions { PskCredentialSelector = _ => null, PskIdentityText = "x", PskKey = Key }), Throws.ArgumentException.With.Property("ParamName").EqualTo(nameof(DtlsClientOptions.PskCredentialSelector)));
    }
}
