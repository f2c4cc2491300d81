using System.Net;
using System.Text;
using NUnit.Framework;
using Org.BouncyCastle.Tls;
using OpenSsl.Dtls;
using OpenSslDtls.Interop.Tests.Support;

namespace OpenSslDtls.Interop.Tests;

/// <summary>BouncyCastle.Cryptography's DTLS 1.2 in-process, as server (our DtlsClient connects) and as client (against our DtlsListener).</summary>
public sealed class BouncyCastleTests : InteropTest
{
    private const string ServerPeer = "BouncyCastle server";
    private const string ClientPeer = "BouncyCastle client";

    [SetUp]
    public void NoteVersion() => Peers.BouncyCastle();

    private static BcSettings ForSuite(Suite suite) => new()
    {
        CipherSuites = [suite.Iana],
        Psk = suite.Psk,
        Certificate = suite.Rsa ? InteropPki.Shared.RsaServer : null,
    };

    private Task<BcResult> RunClient(IPEndPoint server, BcSettings settings) =>
        Task.Run(() => BouncyCastlePeer.Connect(server, settings, Bound), Token);

    private void Describe(string code) => Note("BouncyCastle: " + code);

    [Test]
    public async Task Cipher_suite_forced_on_the_BouncyCastle_server([ValueSource(typeof(Suites), nameof(Suites.Matrix))] Suite suite)
    {
        Row(ServerPeer, OursToPeer, $"cipher {suite.OpenSsl}");
        (int port, Task<BcResult> served) = BouncyCastlePeer.Serve(IPAddress.Loopback, ForSuite(suite), Bound);
        await using (DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), OurOptions.Client(suite)))
        {
            Assert.That(session.CipherSuite, Is.EqualTo(suite.Iana));
            Assert.That(await RoundTripAsync(session, "bc-server"), Is.EqualTo("bc-server"));
            await session.ShutdownAsync(Token);
        }

        Assert.That((await served).CipherSuite, Is.EqualTo(suite.Iana));
    }

    [Test]
    public async Task Cipher_suite_forced_on_the_BouncyCastle_client([ValueSource(typeof(Suites), nameof(Suites.Matrix))] Suite suite)
    {
        Row(ClientPeer, PeerToOurs, $"cipher {suite.OpenSsl}");
        EchoListener listener = StartEchoListener(OurOptions.Server(suite));
        BcResult result = await RunClient(listener.EndPoint, ForSuite(suite) with { Payload = Encoding.UTF8.GetBytes(suite.Iana) });
        Assert.That(result.Echo, Is.EqualTo(Encoding.UTF8.GetBytes(suite.Iana)));
        Assert.That(result.CipherSuite, Is.EqualTo(suite.Iana));
        Assert.That((await listener.NextSessionAsync(Bound)).CipherSuite, Is.EqualTo(suite.Iana));
    }

    [Test]
    public async Task IPv6_loopback([Values] bool ourClient)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, "IPv6 ::1, default suites");
        if (ourClient)
        {
            (int port, Task<BcResult> served) = BouncyCastlePeer.Serve(IPAddress.IPv6Loopback, new BcSettings(), Bound);
            await using (DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, port), OurOptions.Client(targetHost: "::1")))
            {
                Assert.That(await RoundTripAsync(session, "v6"), Is.EqualTo("v6"));
                await session.ShutdownAsync(Token);
            }

            Assert.That((await served).Echo, Is.EqualTo("v6"u8.ToArray()));
        }
        else
        {
            EchoListener listener = StartEchoListener(OurOptions.Server(), IPAddress.IPv6Loopback);
            Assert.That((await RunClient(listener.EndPoint, new BcSettings { Payload = "v6"u8.ToArray() })).Echo, Is.EqualTo("v6"u8.ToArray()));
        }
    }

    [Test]
    public async Task Refused_peers([Values] bool ourClient, [Values("CBC only", "DTLS 1.0 only")] string peer)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, peer == "CBC only" ? "CBC-only peer refused" : "DTLS 1.0-only peer refused");
        BcSettings settings = peer == "CBC only"
            ? new BcSettings { CipherSuites = [Suites.EcdsaCbc.Iana] }
            : new BcSettings { Dtls10Only = true, CipherSuites = ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"] };
        string expected = peer == "CBC only" ? "handshake failure" : "protocol version";
        if (ourClient)
        {
            (int port, Task<BcResult> served) = BouncyCastlePeer.Serve(IPAddress.Loopback, settings, Bound);
            var e = (DtlsException)await CatchAsync(async () => await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), OurOptions.Client()));
            Assert.That(e.Alert, Is.Not.Null, e.ToString());
            Note($"our error: {e.Message}");
            Exception bc = await CatchAsync(async () => await served);
            Describe(bc.Message);
        }
        else
        {
            (int port, Task<DtlsSession> accepted) = AcceptOne(OurOptions.Server());
            Task<BcResult> client = RunClient(new IPEndPoint(IPAddress.Loopback, port), settings);
            var e = (DtlsException)await CatchAsync(async () => await accepted);
            Assert.That(e.Alert, Is.Not.Null.And.Property("Sent").True, e.ToString());
            Assert.That(e.Alert!.Name, Does.Contain(expected).IgnoreCase, e.ToString());
            Exception bc = await CatchAsync(async () => await client);
            Assert.That(bc, Is.InstanceOf<TlsFatalAlertReceived>(), bc.ToString());
            Note($"our error: {e.Message}; BouncyCastle: {bc.Message}");
        }
    }

    [Test]
    public async Task Mutual_authentication([Values] bool ourClient, [Values] bool largeChain)
    {
        Credential credential = largeChain ? Pki.LargeChainClient : Pki.Client;
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, largeChain ? "mutual authentication, 4 KB client chain" : "mutual authentication");
        if (ourClient)
        {
            (int port, Task<BcResult> served) = BouncyCastlePeer.Serve(IPAddress.Loopback, new BcSettings { RequireClientCertificate = true }, Bound);
            await using (DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), OurOptions.Client(certificate: credential)))
            {
                Assert.That(await RoundTripAsync(session, "mutual"), Is.EqualTo("mutual"));
                await session.ShutdownAsync(Token);
            }

            Assert.That((await served).PeerCertificate, Is.EqualTo(credential.LeafDer), "BouncyCastle saw our client certificate");
        }
        else
        {
            EchoListener listener = StartEchoListener(OurOptions.Server(requireClientCertificate: true));
            BcResult result = await RunClient(listener.EndPoint, new BcSettings { Certificate = credential });
            Assert.That(result.Echo, Is.Not.Null);
            Assert.That((await listener.NextSessionAsync(Bound)).RemoteCertificate?.RawData, Is.EqualTo(credential.LeafDer));
        }
    }

    [Test]
    public async Task Refused_client_certificate_the_client_names_the_alert([Values] bool ourClient)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, ourClient ? "client certificate refused by the peer" : "client certificate refused by us");
        if (ourClient)
        {
            (int port, Task<BcResult> served) = BouncyCastlePeer.Serve(IPAddress.Loopback, new BcSettings { RequireClientCertificate = true }, Bound);
            Exception e = await CatchAsync(async () =>
            {
                await using DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), OurOptions.Client(certificate: Pki.UntrustedClient));
                await RoundTripAsync(session, "after a refused certificate");
            });
            Assert.That(e, Is.InstanceOf<DtlsException>(), e.ToString());
            Assert.That(((DtlsException)e).Alert?.Name, Does.Contain("unknown CA").IgnoreCase, e.ToString());
            Note($"our error: {e.Message}");
            _ = await CatchAsync(async () => await served);
        }
        else
        {
            (int port, Task<DtlsSession> accepted) = AcceptOne(OurOptions.Server(requireClientCertificate: true));
            Task<BcResult> client = RunClient(new IPEndPoint(IPAddress.Loopback, port), new BcSettings { Certificate = Pki.UntrustedClient });
            var e = (DtlsAuthenticationException)await CatchAsync(async () => await accepted);
            Assert.That(e.Failure, Is.EqualTo(DtlsCertificateFailure.Chain));
            var bc = (TlsFatalAlertReceived)await CatchAsync(async () => await client);
            Assert.That(AlertDescription.GetText(bc.AlertDescription), Does.Contain("unknown_ca").Or.Contain("bad_certificate"), bc.ToString());
            Note("BouncyCastle: " + bc.Message);
        }
    }

    [Test]
    public async Task ALPN([Values] bool ourClient)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, "ALPN");
        if (ourClient)
        {
            (int port, Task<BcResult> served) = BouncyCastlePeer.Serve(IPAddress.Loopback, new BcSettings { ApplicationProtocols = ["coap", "h2"] }, Bound);
            await using (DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), new DtlsClientOptions { CaFile = Pki.CaFile, TargetHost = "localhost", ApplicationProtocols = ["x-unknown", "h2"] }))
            {
                Assert.That(session.NegotiatedApplicationProtocol, Is.EqualTo("h2"));
                await session.ShutdownAsync(Token);
            }

            Assert.That((await served).ApplicationProtocol, Is.EqualTo("h2"));
        }
        else
        {
            DtlsServerOptions baseline = OurOptions.Server();
            EchoListener listener = StartEchoListener(new DtlsServerOptions { CertificateChainFile = baseline.CertificateChainFile, PrivateKeyFile = baseline.PrivateKeyFile, ApplicationProtocols = ["coap"] });
            BcResult result = await RunClient(listener.EndPoint, new BcSettings { ApplicationProtocols = ["h2", "coap"] });
            Assert.That(result.ApplicationProtocol, Is.EqualTo("coap"));
            Assert.That((await listener.NextSessionAsync(Bound)).NegotiatedApplicationProtocol, Is.EqualTo("coap"));
        }
    }

    [Test]
    public async Task SNI_as_the_BouncyCastle_server_sees_it([Values("localhost", "sni.interop.test")] string name)
    {
        Row(ServerPeer, OursToPeer, $"SNI '{name}'");
        (int port, Task<BcResult> served) = BouncyCastlePeer.Serve(IPAddress.Loopback, new BcSettings(), Bound);
        await using (DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), new DtlsClientOptions { TargetHost = name, InsecureSkipCertificateValidation = true }))
        {
            await session.ShutdownAsync(Token);
        }

        Assert.That((await served).ServerNameSeen, Is.EqualTo(name));
    }

    [Test]
    public async Task Host_name_check_by_our_client([Values("localhost", "wrong.example")] string name)
    {
        bool right = name == "localhost";
        Row(ServerPeer, OursToPeer, $"host-name check {(right ? "right" : "wrong")} ({name})");
        (int port, Task<BcResult> served) = BouncyCastlePeer.Serve(IPAddress.Loopback, new BcSettings(), Bound);
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        if (right)
        {
            await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(targetHost: name));
            Assert.That(await RoundTripAsync(session, "name"), Is.EqualTo("name"));
            await session.ShutdownAsync(Token);
            await served;
        }
        else
        {
            var e = (DtlsAuthenticationException)await CatchAsync(async () => await ConnectAsync(endPoint, OurOptions.Client(targetHost: name)));
            Assert.That(e.Failure, Is.EqualTo(DtlsCertificateFailure.Name));
            Note($"our error: {e.Message}");
            _ = await CatchAsync(async () => await served);
        }
    }

    [Test]
    public async Task DTLS_SRTP_keys_equal_BouncyCastles_export([Values] bool ourClient, [ValueSource(typeof(Suites), nameof(Suites.SrtpProfiles))] string profile)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, $"DTLS-SRTP {profile}, exported keys");
        int length = KeyingMaterial.SrtpLength(profile);
        byte[] ours;
        BcResult theirs;
        if (ourClient)
        {
            (int port, Task<BcResult> served) = BouncyCastlePeer.Serve(IPAddress.Loopback, new BcSettings { SrtpProfiles = [profile] }, Bound);
            await using (DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), new DtlsClientOptions { CaFile = Pki.CaFile, TargetHost = "localhost", SrtpProfiles = OfferedSrtpProfiles(profile) }))
            {
                Assert.That(session.SrtpProfile, Is.EqualTo(profile));
                ours = KeyingMaterial.Export(session, KeyingMaterial.SrtpLabel, length);
                await session.ShutdownAsync(Token);
            }

            theirs = await served;
        }
        else
        {
            DtlsServerOptions baseline = OurOptions.Server();
            EchoListener listener = StartEchoListener(new DtlsServerOptions { CertificateChainFile = baseline.CertificateChainFile, PrivateKeyFile = baseline.PrivateKeyFile, SrtpProfiles = [profile] });
            theirs = await RunClient(listener.EndPoint, new BcSettings { SrtpProfiles = OfferedSrtpProfiles(profile) });
            DtlsSession session = await listener.NextSessionAsync(Bound);
            Assert.That(session.SrtpProfile, Is.EqualTo(profile));
            ours = KeyingMaterial.Export(session, KeyingMaterial.SrtpLabel, length);
        }

        Assert.That(theirs.SrtpProfile, Is.EqualTo(profile));
        Assert.That(Convert.ToHexString(ours), Is.EqualTo(Convert.ToHexString(theirs.SrtpKeys!)), "byte for byte");
    }

    [Test]
    public async Task Resumption_by_session_ID([Values] bool ourClient)
    {
        // BouncyCastle's DTLS 1.2 client and server resume by session ID only (no ticket support in this role here).
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, "resumption (session ID)");
        if (ourClient)
        {
            using var context = new DtlsContext(OurOptions.Client());
            (int port, Task<BcResult> firstServed) = BouncyCastlePeer.Serve(IPAddress.Loopback, new BcSettings(), Bound);
            UsesPort(port);
            var endPoint = new IPEndPoint(IPAddress.Loopback, port);
            await using (DtlsSession first = await DtlsClient.ConnectAsync(endPoint, context, cancellationToken: Token))
            {
                Assert.That(await RoundTripAsync(first, "one"), Is.EqualTo("one"));
                await first.ShutdownAsync(Token);
            }

            await firstServed;
            (_, Task<BcResult> secondServed) = BouncyCastlePeer.Serve(IPAddress.Loopback, new BcSettings(), Bound, port);
            await using (DtlsSession second = await DtlsClient.ConnectAsync(endPoint, context, cancellationToken: Token))
            {
                Assert.That(second.IsResumed, Is.True, "our client resumed with BouncyCastle");
                Assert.That(await RoundTripAsync(second, "two"), Is.EqualTo("two"));
                await second.ShutdownAsync(Token);
            }

            Assert.That((await secondServed).Resumed, Is.True, "BouncyCastle resumed");
        }
        else
        {
            DtlsServerOptions baseline = OurOptions.Server();
            EchoListener listener = StartEchoListener(new DtlsServerOptions { CertificateChainFile = baseline.CertificateChainFile, PrivateKeyFile = baseline.PrivateKeyFile, EnableSessionTickets = false });
            BcResult first = await RunClient(listener.EndPoint, new BcSettings());
            Assert.That((await listener.NextSessionAsync(Bound)).IsResumed, Is.False);
            BcResult second = await RunClient(listener.EndPoint, new BcSettings { Resume = first.Session });
            Assert.That(second.Resumed, Is.True, "BouncyCastle resumed");
            Assert.That((await listener.NextSessionAsync(Bound)).IsResumed, Is.True, "our server resumed");
        }
    }
}
