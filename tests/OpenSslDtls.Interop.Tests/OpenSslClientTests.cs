using System.Net;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Interop.Tests.Support;

namespace OpenSslDtls.Interop.Tests;

/// <summary><c>openssl s_client</c> against our server: DtlsListener for echo rows, a DtlsSession on a connected socket where our side's error is the point.</summary>
public sealed class OpenSslClientTests : InteropTest
{
    private const string Peer = "openssl s_client";

    private PeerProcess StartClient(IPEndPoint server, Suite? suite, params string[] extra)
    {
        string host = server.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{server.Address}]" : server.Address.ToString();
        var arguments = new List<string> { "s_client", "-dtls1_2", "-connect", $"{host}:{Text(server.Port)}" };
        if (suite is { Psk: true })
        {
            arguments.AddRange(["-psk", Suites.PskKeyHex, "-psk_identity", Suites.PskIdentity]);
        }
        else
        {
            arguments.AddRange(["-CAfile", Pki.CaFile, "-verify_return_error"]);
        }

        if (suite is not null)
        {
            arguments.AddRange(["-cipher", suite.OpenSsl]);
        }

        arguments.AddRange(extra);
        return Start(Peers.OpenSsl(), [.. arguments]);
    }

    /// <summary>s_client sends a line of its stdin as one datagram; our echo comes back on its stdout. Then it ends at the end of its input.</summary>
    private static async Task EchoThroughAsync(PeerProcess client)
    {
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("---\n", StringComparison.Ordinal) && p.StandardOutput.Contains("Cipher is", StringComparison.Ordinal), Bound, "s_client finished its handshake");
        string payload = Payload("s_client");
        client.Write(payload + "\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains(payload, StringComparison.Ordinal), Bound, "our echo reached s_client");
        client.CloseInput();
        await client.WaitForExitAsync(Bound);
    }

    [Test]
    public async Task Cipher_suite_forced_on_s_client([ValueSource(typeof(Suites), nameof(Suites.Matrix))] Suite suite)
    {
        Row(Peer, PeerToOurs, $"cipher {suite.OpenSsl}");
        EchoListener listener = StartEchoListener(OurOptions.Server(suite));
        PeerProcess client = StartClient(listener.EndPoint, suite, "-verify_hostname", "localhost");
        await EchoThroughAsync(client);
        Assert.That(client.StandardOutput, Does.Contain("Cipher is " + suite.OpenSsl));
        Assert.That((await listener.NextSessionAsync(Bound)).CipherSuite, Is.EqualTo(suite.Iana));
    }

    [Test]
    public async Task IPv6_loopback()
    {
        Row(Peer, PeerToOurs, "IPv6 ::1, default suites");
        EchoListener listener = StartEchoListener(OurOptions.Server(), IPAddress.IPv6Loopback);
        await EchoThroughAsync(StartClient(listener.EndPoint, null, "-verify_ip", "::1"));
    }

    [Test]
    public async Task CBC_only_client_is_refused_with_a_handshake_failure()
    {
        Row(Peer, PeerToOurs, "CBC-only peer refused");
        (int port, Task<DtlsSession> accepted) = AcceptOne(OurOptions.Server());
        PeerProcess client = StartClient(new IPEndPoint(IPAddress.Loopback, port), Suites.EcdsaCbc);
        var e = (DtlsException)(await CatchAsync(async () => await accepted));
        Assert.That(e.Alert, Is.Not.Null.And.Property("Sent").True, e.ToString());
        Assert.That(e.Alert!.Name, Does.Contain("handshake failure").IgnoreCase, e.ToString());
        await client.WaitForExitAsync(Bound);
        Assert.That(client.StandardError, Does.Contain("alert handshake failure"));
        Note($"our error: {e.Message}");
    }

    [Test]
    public async Task DTLS_1_0_only_client_is_refused_with_protocol_version()
    {
        Row(Peer, PeerToOurs, "DTLS 1.0-only peer refused");
        (int port, Task<DtlsSession> accepted) = AcceptOne(OurOptions.Server());
        PeerProcess client = Start(Peers.OpenSsl(), "s_client", "-dtls1", "-connect", $"127.0.0.1:{Text(port)}", "-cipher", "DEFAULT:@SECLEVEL=0");
        var e = (DtlsException)(await CatchAsync(async () => await accepted));
        Assert.That(e.Alert, Is.Not.Null.And.Property("Sent").True, e.ToString());
        Assert.That(e.Alert!.Name, Does.Contain("protocol version").IgnoreCase, e.ToString());
        await client.WaitForExitAsync(Bound);
        Assert.That(client.StandardError, Does.Contain("alert protocol version"));
        Note($"our error: {e.Message}");
    }

    [Test]
    public async Task Mutual_authentication_our_server_sees_s_clients_certificate([Values] bool largeChain)
    {
        Row(Peer, PeerToOurs, largeChain ? "mutual authentication, 4 KB client chain" : "mutual authentication");
        Credential credential = largeChain ? Pki.LargeChainClient : Pki.Client;
        EchoListener listener = StartEchoListener(OurOptions.Server(requireClientCertificate: true));
        // -cert reads only the first certificate of the file; -cert_chain sends the intermediates too.
        await EchoThroughAsync(StartClient(listener.EndPoint, null, "-cert", credential.ChainFile, "-cert_chain", credential.ChainFile, "-key", credential.KeyFile));
        Assert.That((await listener.NextSessionAsync(Bound)).RemoteCertificate?.RawData, Is.EqualTo(credential.LeafDer));
    }

    [Test]
    public async Task Refused_client_certificate_s_client_names_the_alert()
    {
        Row(Peer, PeerToOurs, "client certificate refused by us");
        (int port, Task<DtlsSession> accepted) = AcceptOne(OurOptions.Server(requireClientCertificate: true));
        PeerProcess client = StartClient(new IPEndPoint(IPAddress.Loopback, port), null, "-cert", Pki.UntrustedClient.ChainFile, "-key", Pki.UntrustedClient.KeyFile);
        var e = (DtlsAuthenticationException)(await CatchAsync(async () => await accepted));
        Assert.That(e.Failure, Is.EqualTo(DtlsCertificateFailure.Chain), e.ToString());
        await client.WaitForExitAsync(Bound);
        Assert.That(client.StandardError, Does.Match("alert (unknown ca|bad certificate|certificate unknown)"), "s_client names the alert it received");
        Note($"s_client: {client.StandardError.Split('\n').FirstOrDefault(l => l.Contains("alert", StringComparison.Ordinal))?.Trim()}");
    }

    [Test]
    public async Task ALPN_our_server_selects()
    {
        Row(Peer, PeerToOurs, "ALPN");
        DtlsServerOptions options = OurOptions.Server();
        EchoListener listener = StartEchoListener(new DtlsServerOptions
        {
            CertificateChainFile = options.CertificateChainFile,
            PrivateKeyFile = options.PrivateKeyFile,
            ApplicationProtocols = ["coap", "h2"],
        });
        PeerProcess client = StartClient(listener.EndPoint, null, "-alpn", "x-unknown,h2");
        await EchoThroughAsync(client);
        Assert.That(client.StandardOutput, Does.Contain("ALPN protocol: h2"));
        Assert.That((await listener.NextSessionAsync(Bound)).NegotiatedApplicationProtocol, Is.EqualTo("h2"));
    }

    [Test]
    public async Task Host_name_check_by_s_client([Values("localhost", "wrong.example")] string name)
    {
        bool right = name == "localhost";
        Row(Peer, PeerToOurs, $"host-name check {(right ? "right" : "wrong")} ({name})");
        if (right)
        {
            EchoListener listener = StartEchoListener(OurOptions.Server());
                PeerProcess client = StartClient(listener.EndPoint, null, "-verify_hostname", name, "-servername", name);
            await EchoThroughAsync(client);
            Assert.That(client.StandardOutput, Does.Contain("Verify return code: 0 (ok)"));
        }
        else
        {
            (int port, Task<DtlsSession> accepted) = AcceptOne(OurOptions.Server());
            PeerProcess client = StartClient(new IPEndPoint(IPAddress.Loopback, port), null, "-verify_hostname", name, "-servername", name);
            var e = (DtlsException)(await CatchAsync(async () => await accepted));
            await client.WaitForExitAsync(Bound);
            Assert.That(client.StandardOutput + client.StandardError, Does.Contain("hostname mismatch"));
            Assert.That(e.Alert, Is.Not.Null.And.Property("Sent").False, "our server names the alert s_client sent: " + e);
            Note($"our error: {e.Message}");
        }
    }

    [Test]
    public async Task DTLS_SRTP_keys_equal_s_clients_export([ValueSource(typeof(Suites), nameof(Suites.SrtpProfiles))] string profile)
    {
        Row(Peer, PeerToOurs, $"DTLS-SRTP {profile}, exported keys");
        int length = KeyingMaterial.SrtpLength(profile);
        DtlsServerOptions options = OurOptions.Server();
        EchoListener listener = StartEchoListener(new DtlsServerOptions
        {
            CertificateChainFile = options.CertificateChainFile,
            PrivateKeyFile = options.PrivateKeyFile,
            SrtpProfiles = OfferedSrtpProfiles(profile).Reverse().ToArray(),
        });
        PeerProcess client = StartClient(listener.EndPoint, null, "-use_srtp", profile, "-keymatexport", KeyingMaterial.SrtpLabel, "-keymatexportlen", Text(length));
        string line = await client.WaitForOutputLineAsync("    Keying material: ", Bound);
        DtlsSession session = await listener.NextSessionAsync(Bound);
        Assert.That(session.SrtpProfile, Is.EqualTo(profile));
        Assert.That(Convert.ToHexString(KeyingMaterial.Export(session, KeyingMaterial.SrtpLabel, length)), Is.EqualTo(line.Trim()["Keying material: ".Length..]), "byte for byte");
        await EchoThroughAsync(client);
    }

    [Test]
    public async Task Resumption_s_client_sess_out_sess_in([Values("session ID", "ticket")] string mechanism)
    {
        Row(Peer, PeerToOurs, $"resumption ({mechanism})");
        DtlsServerOptions options = OurOptions.Server();
        EchoListener listener = StartEchoListener(new DtlsServerOptions
        {
            CertificateChainFile = options.CertificateChainFile,
            PrivateKeyFile = options.PrivateKeyFile,
            EnableSessionTickets = mechanism == "ticket",
        });
        string sessionFile = Path.Combine(Repository.Scratch, $"s_client-session-{mechanism.Replace(' ', '-')}.pem");
        PeerProcess first = StartClient(listener.EndPoint, null, "-sess_out", sessionFile);
        await EchoThroughAsync(first);
        Assert.That((await listener.NextSessionAsync(Bound)).IsResumed, Is.False);
        Assert.That(first.StandardOutput.Contains("TLS session ticket:", StringComparison.Ordinal), Is.EqualTo(mechanism == "ticket"), "a ticket only when our server issues them");
        PeerProcess second = StartClient(listener.EndPoint, null, "-sess_in", sessionFile);
        await EchoThroughAsync(second);
        Assert.That(second.StandardOutput, Does.Contain("Reused, TLSv1.2"), "s_client resumed");
        Assert.That((await listener.NextSessionAsync(Bound)).IsResumed, Is.True, "our server resumed");
    }
}
