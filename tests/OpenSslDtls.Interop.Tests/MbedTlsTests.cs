using System.Globalization;
using System.Net;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Interop.Tests.Support;

namespace OpenSslDtls.Interop.Tests;

/// <summary>mbedTLS 2.28 (native/mbedtls/peer.c over libmbedtls-dev) as server and as client: the stack inside most embedded devices.</summary>
public sealed class MbedTlsTests : InteropTest
{
    private const string ServerPeer = "mbedTLS server";
    private const string ClientPeer = "mbedTLS client";

    /// <summary>mbedTLS names suites like the RFC with dashes.</summary>
    private static string MbedName(Suite suite) => suite.Iana.Replace('_', '-');

    private static string[] Credentials(Suite? suite, Credential? certificate) => suite is { Psk: true }
        ? ["--psk", $"{Suites.PskIdentity}:{Suites.PskKeyHex}", "--force-ciphersuite", MbedName(suite)]
        : [.. (certificate is null ? [] : new[] { "--cert", certificate.ChainFile, "--key", certificate.KeyFile }),
           .. (suite is null ? [] : new[] { "--force-ciphersuite", MbedName(suite) })];

    private async Task<(PeerProcess Process, IPEndPoint EndPoint)> StartServerAsync(Suite? suite, IPAddress? address, params string[] extra)
    {
        address ??= IPAddress.Loopback;
        Credential credential = suite is { Rsa: true } ? Pki.RsaServer : Pki.EcdsaServer;
        PeerProcess server = Start(await Peers.MbedTlsAsync(), ["server", "--host", address.ToString(), "--port", "0",
            .. Credentials(suite, suite is { Psk: true } ? null : credential), .. extra]);
        string line = await server.WaitForOutputLineAsync("listening on ", Bound);
        int port = int.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        UsesPort(port);
        return (server, new IPEndPoint(address, port));
    }

    private async Task<PeerProcess> StartClientAsync(IPEndPoint server, Suite? suite, params string[] extra)
    {
        string[] trust = suite is { Psk: true } ? [] : ["--ca", Pki.CaFile, "--server-name", "localhost"];
        return Start(await Peers.MbedTlsAsync(), ["client", "--host", server.Address.ToString(), "--port", Text(server.Port),
            .. trust, .. Credentials(suite, null), .. extra]);
    }

    private static async Task ExpectEchoAsync(PeerProcess client, string message)
    {
        Assert.That(await client.WaitForExitAsync(Bound), Is.Zero, client.Report());
        Assert.That(client.StandardOutput, Does.Contain("echo: " + message), client.Report());
    }

    [Test]
    public async Task Cipher_suite_forced_on_the_mbedTLS_server([ValueSource(typeof(Suites), nameof(Suites.Matrix))] Suite suite)
    {
        Row(ServerPeer, OursToPeer, $"cipher {suite.OpenSsl}");
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(suite, null);
        await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(suite));
        Assert.That(session.CipherSuite, Is.EqualTo(suite.Iana));
        string payload = Payload("mbedtls");
        Assert.That(await RoundTripAsync(session, payload), Is.EqualTo(payload));
        await session.ShutdownAsync(Token);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("close_notify received", StringComparison.Ordinal), Bound, "the mbedTLS server saw our close_notify");
        Assert.That(server.StandardOutput, Does.Contain("cipher=" + MbedName(suite)), "printed before it echoed");
    }

    [Test]
    public async Task Cipher_suite_forced_on_the_mbedTLS_client([ValueSource(typeof(Suites), nameof(Suites.Matrix))] Suite suite)
    {
        Row(ClientPeer, PeerToOurs, $"cipher {suite.OpenSsl}");
        EchoListener listener = StartEchoListener(OurOptions.Server(suite));
        string payload = StablePayload("mbedtls-" + suite.OpenSsl);
        PeerProcess client = await StartClientAsync(listener.EndPoint, suite, "--message", payload);
        await ExpectEchoAsync(client, payload);
        Assert.That((await listener.NextSessionAsync(Bound)).CipherSuite, Is.EqualTo(suite.Iana));
    }

    [Test]
    public async Task IPv6_loopback([Values] bool ourClient)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, "IPv6 ::1, default suites");
        string payload = StablePayload("v6");
        if (ourClient)
        {
            (_, IPEndPoint endPoint) = await StartServerAsync(null, IPAddress.IPv6Loopback);
            await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(targetHost: "::1"));
            Assert.That(await RoundTripAsync(session, payload), Is.EqualTo(payload));
        }
        else
        {
            EchoListener listener = StartEchoListener(OurOptions.Server(), IPAddress.IPv6Loopback);
            await ExpectEchoAsync(await StartClientAsync(listener.EndPoint, null, "--message", payload), payload);
        }
    }

    [Test]
    public async Task CBC_only_peer_is_refused([Values] bool ourClient)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, "CBC-only peer refused");
        DtlsException e;
        if (ourClient)
        {
            (_, IPEndPoint endPoint) = await StartServerAsync(Suites.EcdsaCbc, null);
            e = (DtlsException)await CatchAsync(async () => await ConnectAsync(endPoint, OurOptions.Client()));
            Assert.That(e.Alert, Is.Not.Null.And.Property("Sent").False, e.ToString());
        }
        else
        {
            (int port, Task<DtlsSession> accepted) = AcceptOne(OurOptions.Server());
            PeerProcess client = await StartClientAsync(new IPEndPoint(IPAddress.Loopback, port), Suites.EcdsaCbc);
            e = (DtlsException)await CatchAsync(async () => await accepted);
            Assert.That(e.Alert, Is.Not.Null.And.Property("Sent").True, e.ToString());
            Assert.That(await client.WaitForExitAsync(Bound), Is.EqualTo(1));
            Assert.That(client.StandardOutput, Does.Contain("alert received: 40"), "mbedTLS got our handshake_failure");
        }

        Assert.That(e.Alert!.Name, Does.Contain("handshake failure").IgnoreCase, e.ToString());
        Note($"our error: {e.Message}");
    }

    [Test]
    public async Task Mutual_authentication([Values] bool ourClient, [Values] bool largeChain)
    {
        Credential credential = largeChain ? Pki.LargeChainClient : Pki.Client;
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, largeChain ? "mutual authentication, 4 KB client chain" : "mutual authentication");
        string payload = StablePayload("mutual");
        if (ourClient)
        {
            (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(null, null, "--ca", Pki.CaFile, "--auth-mode", "required");
            await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(certificate: credential));
            Assert.That(await RoundTripAsync(session, payload), Is.EqualTo(payload));
            await server.WaitUntilAsync(p => p.StandardOutput.Contains("peer certificate: CN=interop-client.test", StringComparison.Ordinal), Bound, "the mbedTLS server printed our certificate");
        }
        else
        {
            EchoListener listener = StartEchoListener(OurOptions.Server(requireClientCertificate: true));
            await ExpectEchoAsync(await StartClientAsync(listener.EndPoint, null, "--message", payload, "--cert", credential.ChainFile, "--key", credential.KeyFile), payload);
            Assert.That((await listener.NextSessionAsync(Bound)).RemoteCertificate?.RawData, Is.EqualTo(credential.LeafDer));
        }
    }

    [Test]
    public async Task Refused_client_certificate_the_client_names_the_alert([Values] bool ourClient)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, ourClient ? "client certificate refused by the peer" : "client certificate refused by us");
        if (ourClient)
        {
            (_, IPEndPoint endPoint) = await StartServerAsync(null, null, "--ca", Pki.CaFile, "--auth-mode", "required");
            Exception e = await CatchAsync(async () =>
            {
                await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(certificate: Pki.UntrustedClient));
                await RoundTripAsync(session, "after a refused certificate");
            });
            Assert.That(e, Is.InstanceOf<DtlsException>().With.Property("Alert").Not.Null, e.ToString());
            Note($"our error: {e.Message}");
        }
        else
        {
            (int port, Task<DtlsSession> accepted) = AcceptOne(OurOptions.Server(requireClientCertificate: true));
            PeerProcess client = await StartClientAsync(new IPEndPoint(IPAddress.Loopback, port), null, "--cert", Pki.UntrustedClient.ChainFile, "--key", Pki.UntrustedClient.KeyFile);
            var e = (DtlsAuthenticationException)await CatchAsync(async () => await accepted);
            Assert.That(e.Failure, Is.EqualTo(DtlsCertificateFailure.Chain));
            Assert.That(await client.WaitForExitAsync(Bound), Is.EqualTo(1));
            Assert.That(client.StandardOutput, Does.Match("alert received: (48|42|46)"), "mbedTLS names the alert our server sent");
            Note("mbedTLS: " + client.StandardOutput.Split('\n').First(l => l.StartsWith("alert received", StringComparison.Ordinal)));
        }
    }

    [Test]
    public async Task ALPN([Values] bool ourClient)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, "ALPN");
        string payload = StablePayload("alpn");
        if (ourClient)
        {
            (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(null, null, "--alpn", "coap,h2");
            var options = new DtlsClientOptions { CaFile = Pki.CaFile, TargetHost = "localhost", ApplicationProtocols = ["x-unknown", "h2"] };
            await using DtlsSession session = await ConnectAsync(endPoint, options);
            Assert.That(session.NegotiatedApplicationProtocol, Is.EqualTo("h2"));
            Assert.That(await RoundTripAsync(session, payload), Is.EqualTo(payload));
            await server.WaitUntilAsync(p => p.StandardOutput.Contains("alpn=h2", StringComparison.Ordinal), Bound, "the mbedTLS server reports h2");
        }
        else
        {
            DtlsServerOptions baseline = OurOptions.Server();
            EchoListener listener = StartEchoListener(new DtlsServerOptions { CertificateChainFile = baseline.CertificateChainFile, PrivateKeyFile = baseline.PrivateKeyFile, ApplicationProtocols = ["coap"] });
            PeerProcess client = await StartClientAsync(listener.EndPoint, null, "--message", payload, "--alpn", "h2,coap");
            await ExpectEchoAsync(client, payload);
            Assert.That(client.StandardOutput, Does.Contain("alpn=coap"));
            Assert.That((await listener.NextSessionAsync(Bound)).NegotiatedApplicationProtocol, Is.EqualTo("coap"));
        }
    }

    [Test]
    public async Task SNI_as_the_mbedTLS_server_sees_it()
    {
        Row(ServerPeer, OursToPeer, "SNI 'localhost'");
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(null, null);
        await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(targetHost: "localhost"));
        Assert.That(await RoundTripAsync(session, "sni"), Is.EqualTo("sni"));
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("sni=localhost", StringComparison.Ordinal), Bound, "the mbedTLS server printed the SNI it received");
    }

    [Test]
    public async Task Host_name_check([Values] bool ourClient, [Values] bool right)
    {
        string name = right ? "localhost" : "wrong.example";
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, $"host-name check {(right ? "right" : "wrong")} ({name})");
        if (ourClient)
        {
            (_, IPEndPoint endPoint) = await StartServerAsync(null, null);
            if (right)
            {
                await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(targetHost: name));
                Assert.That(await RoundTripAsync(session, "name"), Is.EqualTo("name"));
            }
            else
            {
                var e = (DtlsAuthenticationException)await CatchAsync(async () => await ConnectAsync(endPoint, OurOptions.Client(targetHost: name)));
                Assert.That(e.Failure, Is.EqualTo(DtlsCertificateFailure.Name));
                Note($"our error: {e.Message}");
            }
        }
        else
        {
            EchoListener listener = StartEchoListener(OurOptions.Server());
            PeerProcess client = Start(await Peers.MbedTlsAsync(), "client", "--host", "127.0.0.1", "--port", Text(listener.EndPoint.Port),
                "--ca", Pki.CaFile, "--server-name", name, "--message", "name");
            int exit = await client.WaitForExitAsync(Bound);
            if (right)
            {
                Assert.That(exit, Is.Zero, client.Report());
                Assert.That(client.StandardOutput, Does.Contain("echo: name"));
            }
            else
            {
                Assert.That(exit, Is.EqualTo(1));
                Assert.That(client.StandardOutput, Does.Contain("Common Name (CN) does not match"), "mbedTLS rejected the name");
            }
        }
    }

    [Test]
    public async Task DTLS_SRTP_keys_equal_mbedTLSs_export([Values] bool ourClient, [Values("SRTP_AES128_CM_SHA1_80", "SRTP_AES128_CM_SHA1_32")] string profile)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, $"DTLS-SRTP {profile}, exported keys");
        int length = KeyingMaterial.SrtpLength(profile);
        PeerProcess peer;
        DtlsSession session;
        if (ourClient)
        {
            (peer, IPEndPoint endPoint) = await StartServerAsync(null, null, "--srtp", profile);
            session = await ConnectAsync(endPoint, new DtlsClientOptions { CaFile = Pki.CaFile, TargetHost = "localhost", SrtpProfiles = OfferedSrtpProfiles(profile) });
            Assert.That(await RoundTripAsync(session, "srtp"), Is.EqualTo("srtp"));
        }
        else
        {
            DtlsServerOptions baseline = OurOptions.Server();
            EchoListener listener = StartEchoListener(new DtlsServerOptions { CertificateChainFile = baseline.CertificateChainFile, PrivateKeyFile = baseline.PrivateKeyFile, SrtpProfiles = OfferedSrtpProfiles(profile) });
            peer = await StartClientAsync(listener.EndPoint, null, "--message", "srtp", "--srtp", profile);
            await ExpectEchoAsync(peer, "srtp");
            session = await listener.NextSessionAsync(Bound);
        }

        await using DtlsSession _ = session;
        Assert.That(session.SrtpProfile, Is.EqualTo(profile));
        string line = await peer.WaitForOutputLineAsync("keying material: ", Bound);
        Assert.That(Convert.ToHexString(KeyingMaterial.Export(session, KeyingMaterial.SrtpLabel, length)), Is.EqualTo(line["keying material: ".Length..]), "byte for byte");
    }

    [Test]
    public async Task Resumption([Values] bool ourClient, [Values("session ID", "ticket")] string mechanism)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, $"resumption ({mechanism})");
        string tickets = mechanism == "ticket" ? "1" : "0";
        if (ourClient)
        {
            (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(null, null, "--connections", "2", "--tickets", tickets);
            using var context = new DtlsContext(OurOptions.Client());
            await using (DtlsSession first = await DtlsClient.ConnectAsync(endPoint, context, cancellationToken: Token))
            {
                Assert.That(await RoundTripAsync(first, "one"), Is.EqualTo("one"));
                await first.ShutdownAsync(Token);
            }

            await server.WaitUntilAsync(p => p.StandardOutput.Contains("close_notify received", StringComparison.Ordinal), Bound, "first connection closed");
            await using DtlsSession second = await DtlsClient.ConnectAsync(endPoint, context, cancellationToken: Token);
            Assert.That(second.IsResumed, Is.True, "our client resumed with mbedTLS");
            Assert.That(await RoundTripAsync(second, "two"), Is.EqualTo("two"));
        }
        else
        {
            DtlsServerOptions baseline = OurOptions.Server();
            EchoListener listener = StartEchoListener(new DtlsServerOptions { CertificateChainFile = baseline.CertificateChainFile, PrivateKeyFile = baseline.PrivateKeyFile, EnableSessionTickets = mechanism == "ticket" });
            PeerProcess client = await StartClientAsync(listener.EndPoint, null, "--message", "again", "--reconnect", "--tickets", tickets);
            await ExpectEchoAsync(client, "again");
            Assert.That((await listener.NextSessionAsync(Bound)).IsResumed, Is.False);
            Assert.That((await listener.NextSessionAsync(Bound)).IsResumed, Is.True, "our server resumed");
            Assert.That(client.StandardOutput, Does.Contain("resumed=yes"), "mbedTLS resumed");
        }
    }
}
