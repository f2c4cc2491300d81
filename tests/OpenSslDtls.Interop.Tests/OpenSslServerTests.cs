using System.Net;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Interop.Tests.Support;

namespace OpenSslDtls.Interop.Tests;

/// <summary>Our client (DtlsClient) against <c>openssl s_server</c>, with and without <c>-listen</c> (DTLSv1_listen).</summary>
public sealed class OpenSslServerTests : InteropTest
{
    private const string Peer = "openssl s_server";

    /// <summary>
    /// Starts s_server for one client on a free port and waits for ACCEPT. s_server does not echo: it
    /// prints what it receives and sends what it reads on stdin, and exits at the end of its stdin, which
    /// stays open until teardown.
    /// </summary>
    private async Task<(PeerProcess Process, IPEndPoint EndPoint)> StartServerAsync(bool listen, Suite? suite, IPAddress? address, params string[] extra)
    {
        address ??= IPAddress.Loopback;
        int port = FreeUdpPort(address);
        string host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        var arguments = new List<string> { "s_server", "-dtls1_2", "-accept", $"{host}:{Text(port)}", "-naccept", "1" };
        if (listen)
        {
            arguments.Add("-listen");
        }

        if (suite is { Psk: true })
        {
            arguments.AddRange(["-nocert", "-psk", Suites.PskKeyHex, "-psk_identity", Suites.PskIdentity, "-psk_hint", "interop-hint"]);
        }
        else
        {
            Credential credential = suite is { Rsa: true } ? Pki.RsaServer : Pki.EcdsaServer;
            arguments.AddRange(["-cert", credential.ChainFile, "-key", credential.KeyFile]);
        }

        if (suite is not null)
        {
            arguments.AddRange(["-cipher", suite.OpenSsl]);
        }

        arguments.AddRange(extra);
        PeerProcess server = Start(Peers.OpenSsl(), [.. arguments]);
        await server.WaitForOutputLineAsync("ACCEPT", Bound);
        return (server, new IPEndPoint(address, port));
    }

    /// <summary>Our datagram reaches s_server's stdout and its stdin line reaches us: both directions of the record layer.</summary>
    private async Task ExchangeAsync(DtlsSession session, PeerProcess server)
    {
        string ours = Payload("to-s_server");
        await session.SendAsync(System.Text.Encoding.UTF8.GetBytes(ours + "\n"), Token);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains(ours, StringComparison.Ordinal), Bound, "s_server printed our datagram");
        string theirs = Payload("from-s_server");
        server.Write(theirs + "\n");
        byte[] buffer = new byte[4096];
        int n = await session.ReceiveAsync(buffer, Token);
        Assert.That(System.Text.Encoding.UTF8.GetString(buffer, 0, n), Is.EqualTo(theirs + "\n"), "s_server's stdin line arrived as one datagram");
    }

    [Test]
    public async Task Cipher_suite_forced_on_s_server([ValueSource(typeof(Suites), nameof(Suites.Matrix))] Suite suite, [Values] bool listen)
    {
        Row(Peer + (listen ? " -listen" : string.Empty), OursToPeer, $"cipher {suite.OpenSsl}");
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(listen, suite, null);
        await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(suite));
        Assert.That(session.CipherSuite, Is.EqualTo(suite.Iana));
        await ExchangeAsync(session, server);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("CIPHER is " + suite.OpenSsl, StringComparison.Ordinal), Bound, "s_server reports the suite");
    }

    [Test]
    public async Task IPv6_loopback([Values] bool listen)
    {
        Row(Peer + (listen ? " -listen" : string.Empty), OursToPeer, "IPv6 ::1, default suites");
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(listen, null, IPAddress.IPv6Loopback);
        await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(targetHost: "::1"));
        await ExchangeAsync(session, server);
    }

    [Test]
    public async Task CBC_only_server_is_refused_with_a_handshake_failure()
    {
        Row(Peer, OursToPeer, "CBC-only peer refused");
        (_, IPEndPoint endPoint) = await StartServerAsync(false, Suites.EcdsaCbc, null);
        DtlsException e = Assert.ThrowsAsync(Is.InstanceOf<DtlsException>(), async () => await ConnectAsync(endPoint, OurOptions.Client()))! as DtlsException ?? throw new AssertionException("no DtlsException");
        Assert.That(e.Alert?.Name, Does.Contain("handshake failure").IgnoreCase, e.ToString());
        Note($"our error: {e.Message}");
    }

    [Test]
    public async Task DTLS_1_0_only_server_is_refused_with_an_alert()
    {
        Row(Peer, OursToPeer, "DTLS 1.0-only peer refused");
        int port = FreeUdpPort();
        PeerProcess server = Start(Peers.OpenSsl(), "s_server", "-dtls1", "-accept", $"127.0.0.1:{Text(port)}", "-naccept", "1",
            "-cert", Pki.EcdsaServer.ChainFile, "-key", Pki.EcdsaServer.KeyFile, "-cipher", "DEFAULT:@SECLEVEL=0");
        await server.WaitForOutputLineAsync("ACCEPT", Bound);
        var e = (DtlsException)Assert.ThrowsAsync(Is.InstanceOf<DtlsException>(), async () => await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), OurOptions.Client()))!;
        // OpenSSL's DTLS 1.0 server picks 1.0, finds none of our (TLS 1.2-only AEAD) suites and answers handshake_failure.
        Assert.That(e.Alert?.Name, Does.Contain("protocol version").IgnoreCase.Or.Contain("handshake failure").IgnoreCase, e.ToString());
        Note($"our error: {e.Message}");
    }

    [Test]
    public async Task Mutual_authentication_s_server_sees_our_client_certificate()
    {
        Row(Peer, OursToPeer, "mutual authentication");
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(false, null, null, "-Verify", "1", "-CAfile", Pki.CaFile, "-verify_return_error");
        await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(certificate: Pki.Client));
        await ExchangeAsync(session, server);
        Assert.That(server.StandardOutput + server.StandardError, Does.Contain("interop-client.test"), "s_server printed our client certificate's subject");
    }

    [Test]
    public async Task Refused_client_certificate_our_client_names_the_alert()
    {
        Row(Peer, OursToPeer, "client certificate refused by the peer");
        (_, IPEndPoint endPoint) = await StartServerAsync(false, null, null, "-Verify", "1", "-CAfile", Pki.CaFile, "-verify_return_error");
        Exception e = await CatchAsync(async () =>
        {
            await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(certificate: Pki.UntrustedClient));
            await RoundTripAsync(session, "after a refused certificate");
        });
        Assert.That(e, Is.InstanceOf<DtlsException>(), e.ToString());
        Assert.That(((DtlsException)e).Alert, Is.Not.Null.And.Property("Sent").False, e.ToString());
        Assert.That(((DtlsException)e).Alert!.Name, Does.Contain("unknown CA").IgnoreCase, e.ToString());
        Note($"our error: {e.Message}");
    }

    [Test]
    public async Task ALPN_s_server_selects_its_protocol()
    {
        Row(Peer, OursToPeer, "ALPN");
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(false, null, null, "-alpn", "coap,h2");
        var options = new DtlsClientOptions { CaFile = Pki.CaFile, TargetHost = "localhost", ApplicationProtocols = ["x-unknown", "coap"] };
        await using DtlsSession session = await ConnectAsync(endPoint, options);
        Assert.That(session.NegotiatedApplicationProtocol, Is.EqualTo("coap"));
        await ExchangeAsync(session, server);
        Assert.That(server.StandardOutput, Does.Contain("ALPN protocols advertised by the client: x-unknown, coap"));
    }

    [Test]
    public async Task SNI_as_s_server_sees_it([Values("localhost", "sni.interop.test")] string name)
    {
        Row(Peer, OursToPeer, $"SNI '{name}'");
        // -servername with -cert2/-key2 installs s_server's SNI callback, which prints the name it received.
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(false, null, null,
            "-servername", name, "-cert2", Pki.EcdsaServer.ChainFile, "-key2", Pki.EcdsaServer.KeyFile);
        var options = new DtlsClientOptions { CaFile = Pki.CaFile, TargetHost = name, RemoteCertificateValidation = (_, _, _, errors) => errors is System.Net.Security.SslPolicyErrors.None or System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch };
        await using DtlsSession session = await ConnectAsync(endPoint, options);
        await ExchangeAsync(session, server);
        Assert.That(server.StandardOutput + server.StandardError, Does.Contain($"Hostname in TLS extension: \"{name}\""));
    }

    [Test]
    public async Task Host_name_check([Values("localhost", "127.0.0.1", "wrong.example")] string targetHost)
    {
        bool right = targetHost != "wrong.example";
        Row(Peer, OursToPeer, $"host-name check {(right ? "right" : "wrong")} ({targetHost})");
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(false, null, null);
        if (right)
        {
            await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(targetHost: targetHost));
            await ExchangeAsync(session, server);
        }
        else
        {
            var e = (DtlsAuthenticationException)Assert.ThrowsAsync(Is.InstanceOf<DtlsAuthenticationException>(), async () => await ConnectAsync(endPoint, OurOptions.Client(targetHost: targetHost)))!;
            Assert.That(e.Failure, Is.EqualTo(DtlsCertificateFailure.Name), e.ToString());
            Note($"our error: {e.Message}");
        }
    }

    [Test]
    public async Task DTLS_SRTP_keys_equal_s_servers_export([ValueSource(typeof(Suites), nameof(Suites.SrtpProfiles))] string profile)
    {
        Row(Peer, OursToPeer, $"DTLS-SRTP {profile}, exported keys");
        int length = KeyingMaterial.SrtpLength(profile);
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(false, null, null,
            "-use_srtp", profile, "-keymatexport", KeyingMaterial.SrtpLabel, "-keymatexportlen", Text(length));
        var options = new DtlsClientOptions { CaFile = Pki.CaFile, TargetHost = "localhost", SrtpProfiles = OfferedSrtpProfiles(profile) };
        await using DtlsSession session = await ConnectAsync(endPoint, options);
        Assert.That(session.SrtpProfile, Is.EqualTo(profile));
        byte[] ours = KeyingMaterial.Export(session, KeyingMaterial.SrtpLabel, length);
        string line = await server.WaitForOutputLineAsync("    Keying material: ", Bound);
        Assert.That(Convert.ToHexString(ours), Is.EqualTo(line.Trim()["Keying material: ".Length..]), "byte for byte");
    }

    [Test]
    public async Task Resumption_with_s_server([Values("session ID", "ticket")] string mechanism)
    {
        Row(Peer, OursToPeer, $"resumption ({mechanism})");
        int port = FreeUdpPort();
        // Two connections to one s_server (-naccept 2); -no_ticket leaves only its session-ID cache.
        string[] ticket = mechanism == "ticket" ? [] : ["-no_ticket"];
        PeerProcess server = Start(Peers.OpenSsl(), ["s_server", "-dtls1_2", "-accept", $"127.0.0.1:{Text(port)}", "-naccept", "2",
            "-cert", Pki.EcdsaServer.ChainFile, "-key", Pki.EcdsaServer.KeyFile, .. ticket]);
        await server.WaitForOutputLineAsync("ACCEPT", Bound);
        using var context = new DtlsContext(OurOptions.Client());
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        await using (DtlsSession first = await DtlsClient.ConnectAsync(endPoint, context, cancellationToken: Token))
        {
            Assert.That(first.IsResumed, Is.False);
            await ExchangeAsync(first, server);
            await first.ShutdownAsync(Token);
        }

        await server.WaitUntilAsync(p => p.StandardOutput.Contains("DONE", StringComparison.Ordinal), Bound, "s_server saw our close_notify (DONE)");
        await using DtlsSession second = await DtlsClient.ConnectAsync(endPoint, context, cancellationToken: Token);
        Assert.That(second.IsResumed, Is.True, "our client resumed");
        await ExchangeAsync(second, server);
        Assert.That(server.StandardOutput, Does.Contain("Reused session-id"), "s_server says it resumed");
    }
}
