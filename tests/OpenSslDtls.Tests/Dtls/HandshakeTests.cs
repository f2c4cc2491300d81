using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>One loopback handshake per option family, OpenSSL at both ends, over real UDP.</summary>
public sealed class HandshakeTests : DtlsFixture
{
    public enum ServerKey
    {
        Rsa2048,
        EcdsaP256,
    }

    private static X509Certificate2 CertificateFor(ServerKey key) =>
        key == ServerKey.Rsa2048 ? DtlsTestCertificates.RsaSelfSigned : DtlsTestCertificates.EcdsaSelfSigned;

    [TestCase(ServerKey.Rsa2048, DtlsSocketIo.OpenSsl, DtlsSocketIo.OpenSsl)]
    [TestCase(ServerKey.Rsa2048, DtlsSocketIo.Managed, DtlsSocketIo.Managed)]
    [TestCase(ServerKey.EcdsaP256, DtlsSocketIo.OpenSsl, DtlsSocketIo.OpenSsl)]
    [TestCase(ServerKey.EcdsaP256, DtlsSocketIo.Managed, DtlsSocketIo.Managed)]
    [TestCase(ServerKey.EcdsaP256, DtlsSocketIo.OpenSsl, DtlsSocketIo.Managed)]
    [TestCase(ServerKey.Rsa2048, DtlsSocketIo.Managed, DtlsSocketIo.OpenSsl)]
    [CancelAfter(20_000)]
    public async Task Server_certificate_handshake_echoes_bytes_unchanged(ServerKey key, DtlsSocketIo serverIo, DtlsSocketIo clientIo, CancellationToken cancellationToken)
    {
        X509Certificate2 certificate = CertificateFor(key);
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = certificate });
        using var clientContext = new DtlsContext(new DtlsClientOptions { TrustedCertificates = [certificate], TargetHost = DtlsTestCertificates.Host });
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, serverIo, clientIo);

        string algorithm = key == ServerKey.Rsa2048 ? "_RSA_" : "_ECDSA_";
        Assert.Multiple(() =>
        {
            Assert.That(pair.Client.IsAuthenticated, Is.True);
            Assert.That(pair.Server.IsAuthenticated, Is.True);
            Assert.That(pair.Client.ProtocolVersion, Is.EqualTo("DTLSv1.2"));
            Assert.That(pair.Server.ProtocolVersion, Is.EqualTo("DTLSv1.2"));
            Assert.That(pair.Client.CipherSuite, Does.Contain(algorithm).And.Contain("ECDHE"));
            Assert.That(pair.Server.CipherSuite, Is.EqualTo(pair.Client.CipherSuite));
            Assert.That(pair.Client.RemoteCertificate?.Thumbprint, Is.EqualTo(certificate.Thumbprint));
            Assert.That(pair.Server.RemoteCertificate, Is.Null, "the server did not ask for a client certificate");
            Assert.That(pair.Client.IsResumed, Is.False);
            Assert.That(pair.Client.MaxDatagramPayload, Is.InRange(1000, 1200 - 28));
            Assert.That(pair.Client.RemoteEndPoint, Is.EqualTo(pair.ServerSocket.LocalEndPoint));
            Assert.That(pair.Server.RemoteEndPoint, Is.EqualTo(pair.ClientSocket.LocalEndPoint));
        });

        foreach (int size in new[] { 1, 100, pair.Client.MaxDatagramPayload })
        {
            byte[] payload = RandomNumberGenerator.GetBytes(size);
            Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload), $"echo of {size} bytes");
        }
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(20_000)]
    public async Task Mutual_authentication_shows_each_side_the_other_certificate(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            Certificate = DtlsTestCertificates.Server,
            RequireClientCertificate = true,
            TrustedCertificates = [DtlsTestCertificates.Ca],
        });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            Certificate = DtlsTestCertificates.Client,
            TrustedCertificates = [DtlsTestCertificates.Ca],
            TargetHost = DtlsTestCertificates.Host,
        });
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, io, io);

        Assert.Multiple(() =>
        {
            Assert.That(pair.Server.RemoteCertificate?.Thumbprint, Is.EqualTo(DtlsTestCertificates.Client.Thumbprint));
            Assert.That(pair.Server.RemoteCertificate?.Subject, Is.EqualTo($"CN={DtlsTestCertificates.ClientName}"));
            Assert.That(pair.Client.RemoteCertificate?.Thumbprint, Is.EqualTo(DtlsTestCertificates.Server.Thumbprint));
        });
        byte[] payload = RandomNumberGenerator.GetBytes(300);
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Client_without_a_certificate_is_refused_when_the_server_requires_one(CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            Certificate = DtlsTestCertificates.Server,
            RequireClientCertificate = true,
            TrustedCertificates = [DtlsTestCertificates.Ca],
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.Ca],
            TargetHost = DtlsTestCertificates.Host,
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        });
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext);
        HandshakeOutcome outcome = await pair.HandshakeExpectingFailureAsync(cancellationToken);

        Assert.That(outcome.Server, Is.InstanceOf<DtlsAuthenticationException>());
        var server = (DtlsAuthenticationException)outcome.Server!;
        Assert.Multiple(() =>
        {
            Assert.That(server.Failure, Is.EqualTo(DtlsCertificateFailure.Missing));
            Assert.That(server.Message, Does.Contain("no certificate").And.Contain("RequireClientCertificate"));
            Assert.That(server.Alert, Is.Not.Null.And.Property(nameof(DtlsAlert.Sent)).True);
            Assert.That(outcome.Client, Is.InstanceOf<DtlsException>());
            Assert.That(((DtlsException)outcome.Client!).Alert, Is.Not.Null);
            Assert.That(((DtlsException)outcome.Client!).Alert!.Sent, Is.False, "the client received the server's alert");
            Assert.That(((DtlsException)outcome.Client!).Alert!.IsFatal, Is.True);
            Assert.That(outcome.Client!.Message, Does.Contain("alert"));
            Assert.That(outcome.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "a refusal is prompt, not a timeout");
        });
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(20_000)]
    public async Task Psk_with_matching_keys_handshakes_with_a_psk_suite_and_echoes(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            PskIdentityHint = "test hint",
            PskKeyLookup = request => request.IdentityText == "device-7" ? key : null,
        });
        using var clientContext = new DtlsContext(new DtlsClientOptions { PskIdentityText = "device-7", PskKey = key });
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, io, io);

        Assert.Multiple(() =>
        {
            Assert.That(pair.Client.CipherSuite, Does.Contain("PSK"));
            Assert.That(pair.Server.CipherSuite, Is.EqualTo(pair.Client.CipherSuite));
            Assert.That(pair.Server.PskIdentityText, Is.EqualTo("device-7"));
            Assert.That(pair.Client.RemoteCertificate, Is.Null);
            Assert.That(pair.Server.RemoteCertificate, Is.Null);
        });
        byte[] payload = RandomNumberGenerator.GetBytes(500);
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(20_000)]
    public async Task Psk_with_mismatching_keys_fails_promptly_without_retransmitting(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            PskKeyLookup = _ => RandomNumberGenerator.GetBytes(32),
            HandshakeTimeout = TimeSpan.FromSeconds(30),
        });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            PskIdentityText = "device-7",
            PskKey = RandomNumberGenerator.GetBytes(32),
            HandshakeTimeout = TimeSpan.FromSeconds(30),
        });
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext, io, io);
        HandshakeOutcome outcome = await pair.HandshakeExpectingFailureAsync(cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(outcome.Server, Is.InstanceOf<DtlsException>(), "server");
            Assert.That(outcome.Client, Is.InstanceOf<DtlsException>(), "client");
            Assert.That(outcome.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "well under the 30 s HandshakeTimeout");
            Assert.That(pair.Client.Retransmissions, Is.LessThanOrEqualTo(1));
            Assert.That(pair.Server.Retransmissions, Is.LessThanOrEqualTo(1));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Psk_with_an_unknown_identity_is_refused_with_an_alert(CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions { PskKeyLookup = _ => null });
        using var clientContext = new DtlsContext(new DtlsClientOptions { PskIdentityText = "stranger", PskKey = RandomNumberGenerator.GetBytes(32) });
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext);
        HandshakeOutcome outcome = await pair.HandshakeExpectingFailureAsync(cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(outcome.Server, Is.InstanceOf<DtlsException>());
            Assert.That(outcome.Client, Is.InstanceOf<DtlsException>());
            Assert.That(((DtlsException?)outcome.Client)?.Alert?.Sent, Is.False, "the client received the alert");
            Assert.That(pair.Server.PskIdentityText, Is.EqualTo("stranger"));
            Assert.That(outcome.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        });
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(20_000)]
    public async Task Alpn_agrees_on_the_server_preferred_common_protocol(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            Certificate = DtlsTestCertificates.EcdsaSelfSigned,
            ApplicationProtocols = ["h3-none", "coap", "webrtc"],
        });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned],
            TargetHost = DtlsTestCertificates.Host,
            ApplicationProtocols = ["webrtc", "coap", "other"],
        });
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, io, io);

        Assert.Multiple(() =>
        {
            Assert.That(pair.Server.NegotiatedApplicationProtocol, Is.EqualTo("coap"));
            Assert.That(pair.Client.NegotiatedApplicationProtocol, Is.EqualTo("coap"));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Alpn_without_a_common_protocol_fails_with_no_application_protocol(CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            Certificate = DtlsTestCertificates.EcdsaSelfSigned,
            ApplicationProtocols = ["coap"],
        });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned],
            TargetHost = DtlsTestCertificates.Host,
            ApplicationProtocols = ["webrtc"],
        });
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext);
        HandshakeOutcome outcome = await pair.HandshakeExpectingFailureAsync(cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(outcome.Server, Is.InstanceOf<DtlsException>());
            Assert.That(outcome.Client, Is.InstanceOf<DtlsException>());
            Assert.That(((DtlsException?)outcome.Client)?.Alert?.Description, Is.EqualTo(120), "no_application_protocol (RFC 7301 §3.2)");
            Assert.That(((DtlsException?)outcome.Server)?.Alert?.Sent, Is.True);
            Assert.That(outcome.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        });
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(20_000)]
    public async Task Srtp_profile_and_exported_keying_material_agree_on_both_sides(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            Certificate = DtlsTestCertificates.EcdsaSelfSigned,
            SrtpProfiles = ["SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"],
        });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned],
            TargetHost = DtlsTestCertificates.Host,
            SrtpProfiles = ["SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_128_GCM"],
        });

        var exported = new List<byte[]>();
        for (int i = 0; i < 2; i++)
        {
            await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, io, io);
            byte[] client = pair.Client.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", 60);
            byte[] server = pair.Server.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", 60);
            Assert.Multiple(() =>
            {
                Assert.That(pair.Client.SrtpProfile, Is.Not.Null.And.StartsWith("SRTP_"));
                Assert.That(pair.Server.SrtpProfile, Is.EqualTo(pair.Client.SrtpProfile));
                Assert.That(client, Has.Length.EqualTo(60));
                Assert.That(server, Is.EqualTo(client));
                Assert.That(client, Is.Not.EqualTo(new byte[60]));
            });
            exported.Add(client);
        }

        Assert.That(exported[1], Is.Not.EqualTo(exported[0]), "each association has its own keys");
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(20_000)]
    public async Task Second_connection_with_the_same_contexts_is_resumed(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.Server });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.Ca],
            TargetHost = DtlsTestCertificates.Host,
        });

        // The client's cache is keyed by server endpoint, so the second server socket takes the first one's port.
        Socket serverSocket = LoopbackPair.Bound();
        int port = ((IPEndPoint)serverSocket.LocalEndPoint!).Port;
        var resumed = new List<(bool Client, bool Server)>();
        for (int i = 0; i < 2; i++)
        {
            serverSocket ??= LoopbackPair.Bound(port: port);
            Socket clientSocket = LoopbackPair.Bound();
            serverSocket.Connect(clientSocket.LocalEndPoint!);
            clientSocket.Connect(serverSocket.LocalEndPoint!);
            await using (LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext, serverSocket, clientSocket, io, io))
            {
                await pair.HandshakeAsync(cancellationToken);
                resumed.Add((pair.Client.IsResumed, pair.Server.IsResumed));
                byte[] payload = RandomNumberGenerator.GetBytes(64);
                Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
                await pair.Client.ShutdownAsync(cancellationToken);
                Assert.That(await pair.Server.ReceiveAsync(new byte[100], cancellationToken), Is.Zero);
            }

            serverSocket = null!;
        }

        Assert.That(resumed, Is.EqualTo(new[] { (false, false), (true, true) }));
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(30_000)]
    public async Task Mtu_576_fragments_an_rsa_4096_chain_and_limits_datagrams(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        const int mtu = 576;
        DtlsTestCertificates.Rsa4096Chain chain = DtlsTestCertificates.Rsa4096;
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            Certificate = chain.Leaf,
            CertificateChain = [chain.Intermediate],
            Mtu = mtu,
        });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [chain.Root],
            TargetHost = DtlsTestCertificates.Host,
            Mtu = mtu,
        });

        // A relay in the middle sees every datagram, so the test can check their sizes.
        using Socket serverSocket = LoopbackPair.Bound();
        using var relay = new UdpRelay(serverSocket.LocalEndPoint!);
        Socket clientSocket = LoopbackPair.Bound();
        serverSocket.Connect(relay.EndPoint);
        clientSocket.Connect(relay.EndPoint);
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext, serverSocket, clientSocket, io, io);
        await pair.HandshakeAsync(cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(pair.Client.RemoteCertificate?.Thumbprint, Is.EqualTo(chain.Leaf.Thumbprint));
            Assert.That(pair.Client.MaxDatagramPayload, Is.LessThan(mtu).And.GreaterThan(400));
            Assert.That(pair.Server.MaxDatagramPayload, Is.LessThan(mtu).And.GreaterThan(400));
        });

        byte[] payload = RandomNumberGenerator.GetBytes(pair.Client.MaxDatagramPayload);
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));

        var fromServer = relay.Seen.Where(d => !d.FromClient).ToList();
        int certificateBytes = chain.Leaf.RawData.Length + chain.Intermediate.RawData.Length;
        Assert.Multiple(() =>
        {
            Assert.That(relay.Seen.Select(d => d.Length), Has.All.LessThanOrEqualTo(mtu - 28), "no datagram exceeds the MTU minus IPv4+UDP headers");
            Assert.That(fromServer.Sum(d => d.Length), Is.GreaterThan(certificateBytes), "the server sent its leaf and the intermediate");
            Assert.That(fromServer, Has.Count.GreaterThanOrEqualTo((certificateBytes / (mtu - 28)) + 1), "the certificate flight was fragmented");
        });
    }

    [TestCase(DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed)]
    [CancelAfter(20_000)]
    public async Task Lost_flight_is_retransmitted_and_the_handshake_completes(DtlsSocketIo io, CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            Certificate = DtlsTestCertificates.EcdsaSelfSigned,
            InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200),
        });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned],
            TargetHost = DtlsTestCertificates.Host,
            InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200),
        });

        // Drop the server's first datagram (its ServerHello flight): the client must retransmit its ClientHello.
        using Socket serverSocket = LoopbackPair.Bound();
        using var relay = new UdpRelay(serverSocket.LocalEndPoint!) { Drop = (fromClient, index, _) => !fromClient && index == 0 };
        Socket clientSocket = LoopbackPair.Bound();
        serverSocket.Connect(relay.EndPoint);
        clientSocket.Connect(relay.EndPoint);
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext, serverSocket, clientSocket, io, io);
        var clock = Stopwatch.StartNew();
        await pair.HandshakeAsync(cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(pair.Client.Retransmissions + pair.Server.Retransmissions, Is.GreaterThanOrEqualTo(1));
            Assert.That(relay.Seen.Count(d => d.Dropped), Is.EqualTo(1));
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "a 200 ms retransmission timer, not the 1 s default or worse");
        });
        byte[] payload = RandomNumberGenerator.GetBytes(200);
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task KeyLog_receives_nss_key_log_lines_on_both_sides(CancellationToken cancellationToken)
    {
        var serverLines = new ConcurrentQueue<string>();
        var clientLines = new ConcurrentQueue<string>();
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned, KeyLog = serverLines.Enqueue });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned],
            TargetHost = DtlsTestCertificates.Host,
            KeyLog = clientLines.Enqueue,
        });
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);

        // NSS format for (D)TLS 1.2: "CLIENT_RANDOM <64 hex digits> <96 hex digits of master secret>".
        const string line = "^CLIENT_RANDOM [0-9a-fA-F]{64} [0-9a-fA-F]{96}$";
        Assert.Multiple(() =>
        {
            Assert.That(clientLines, Is.Not.Empty.And.Some.Match(line));
            Assert.That(serverLines, Is.Not.Empty.And.Some.Match(line));
            Assert.That(serverLines, Is.EquivalentTo(clientLines), "both sides log the same secret");
        });
    }
}
