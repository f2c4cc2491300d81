using System.Net;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Interop.Tests.Support;

namespace OpenSslDtls.Interop.Tests;

/// <summary>
/// GnuTLS 3.7: <c>gnutls-serv --udp --echo</c> (a fresh instance per test: it serves one peer at a time and
/// spins on a stray datagram, see PEERS.md) and <c>gnutls-cli --udp</c> against our server.
/// </summary>
public sealed class GnuTlsTests : InteropTest
{
    private const string ServerPeer = "gnutls-serv";
    private const string ClientPeer = "gnutls-cli";

    /// <summary>gnutls-serv prints nothing about the session in --udp mode and block-buffers stdout; stdbuf makes its few lines arrive.</summary>
    private async Task<(PeerProcess Process, int Port)> StartServerAsync(Suite? suite, params string[] extra)
    {
        int port = FreeUdpPort();
        var arguments = new List<string> { "-oL", Peers.GnuTlsServ(), "--udp", "--echo", "--port", Text(port) };
        if (suite is { Psk: true })
        {
            string pskFile = Path.Combine(Pki.Folder, "gnutls-psk.txt");
            File.WriteAllText(pskFile, $"{Suites.PskIdentity}:{Suites.PskKeyHex.ToLowerInvariant()}\n");
            arguments.AddRange(["--pskpasswd", pskFile]);
        }
        else
        {
            Credential credential = suite is { Rsa: true } ? Pki.RsaServer : Pki.EcdsaServer;
            arguments.AddRange(["--x509certfile", credential.ChainFile, "--x509keyfile", credential.KeyFile]);
        }

        if (suite is not null)
        {
            arguments.AddRange(["--priority", suite.GnuTls]);
        }

        arguments.AddRange(extra);
        PeerProcess server = Start(ExternalTool.Require("stdbuf", "coreutils"), [.. arguments]);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("Waiting for connection", StringComparison.Ordinal), Bound, "gnutls-serv ready");
        return (server, port);
    }

    private PeerProcess StartClient(IPAddress address, int port, Suite? suite, params string[] extra)
    {
        var arguments = new List<string> { "--udp", "-p", Text(port), address.ToString() };
        if (suite is { Psk: true })
        {
            arguments.AddRange(["--pskusername", Suites.PskIdentity, "--pskkey", Suites.PskKeyHex.ToLowerInvariant()]);
        }
        else
        {
            arguments.AddRange(["--x509cafile", Pki.CaFile]);
        }

        if (suite is not null)
        {
            arguments.AddRange(["--priority", suite.GnuTls]);
        }

        arguments.AddRange(extra);
        return Start(Peers.GnuTlsCli(), [.. arguments]);
    }

    /// <summary>gnutls-cli sends a stdin line as one datagram and prints our echo; it ends at the end of its input.</summary>
    private static async Task EchoThroughAsync(PeerProcess client)
    {
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("- Simple Client Mode:", StringComparison.Ordinal), Bound, "gnutls-cli finished its handshake");
        string payload = Payload("gnutls-cli");
        client.Write(payload + "\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains(payload, StringComparison.Ordinal), Bound, "our echo reached gnutls-cli");
        client.CloseInput();
        await client.WaitForExitAsync(Bound);
    }

    private async Task EchoAndCloseAsync(DtlsSession session)
    {
        string payload = Payload("gnutls-serv"); // well under --echo's 254-byte truncation
        Assert.That(await RoundTripAsync(session, payload), Is.EqualTo(payload));
        await session.ShutdownAsync(Token); // gnutls-serv blocks every later client until it sees close_notify
    }

    [Test]
    public async Task Cipher_suite_forced_on_gnutls_serv([ValueSource(typeof(Suites), nameof(Suites.Matrix))] Suite suite)
    {
        Row(ServerPeer, OursToPeer, $"cipher {suite.OpenSsl}");
        (_, int port) = await StartServerAsync(suite);
        await using DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), OurOptions.Client(suite));
        Assert.That(session.CipherSuite, Is.EqualTo(suite.Iana));
        await EchoAndCloseAsync(session);
    }

    [Test]
    public async Task Cipher_suite_forced_on_gnutls_cli([ValueSource(typeof(Suites), nameof(Suites.Matrix))] Suite suite)
    {
        Row(ClientPeer, PeerToOurs, $"cipher {suite.OpenSsl}");
        EchoListener listener = StartEchoListener(OurOptions.Server(suite));
        PeerProcess client = StartClient(IPAddress.Loopback, listener.EndPoint.Port, suite, "--verify-hostname", "localhost");
        if (suite == Suites.EcdhePskChaCha)
        {
            // PEERS.md: gnutls-cli 3.7.9 segfaults with ECDHE-PSK suites against any server (also openssl s_server).
            int exit = await client.WaitForExitAsync(Bound);
            if (exit == 139 || exit == -11 || client.StandardError.Contains("Segmentation", StringComparison.Ordinal) || exit == 134)
            {
                PeerLimitation($"gnutls-cli ({GnuTlsVersion()}) crashes with ECDHE-PSK (exit {exit}: SIGSEGV)");
                Note(Tail(client));
                return;
            }
        }

        await EchoThroughAsync(client);
        Assert.That((await listener.NextSessionAsync(Bound)).CipherSuite, Is.EqualTo(suite.Iana));
    }

    [Test]
    public async Task IPv6_loopback([Values] bool ourClient)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, "IPv6 ::1, default suites");
        if (ourClient)
        {
            (_, int port) = await StartServerAsync(null);
            await using DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, port), OurOptions.Client(targetHost: "::1"));
            await EchoAndCloseAsync(session);
        }
        else
        {
            EchoListener listener = StartEchoListener(OurOptions.Server(), IPAddress.IPv6Loopback);
            await EchoThroughAsync(StartClient(IPAddress.IPv6Loopback, listener.EndPoint.Port, null, "--verify-hostname", "::1"));
        }
    }

    [Test]
    public async Task Refused_peers([Values] bool ourClient, [Values("CBC only", "DTLS 1.0 only")] string peer)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, peer == "CBC only" ? "CBC-only peer refused" : "DTLS 1.0-only peer refused");
        string priority = peer == "CBC only" ? Suites.EcdsaCbc.GnuTls : "NORMAL:-VERS-ALL:+VERS-DTLS1.0";
        if (ourClient)
        {
            (PeerProcess server, int port) = await StartServerAsync(null, "--priority", priority);
            await ExpectRefusalByGnuTlsServAsync(server, port, OurOptions.Client(), "handshake failure", "No supported cipher suites");
        }
        else
        {
            (int port, Task<DtlsSession> accepted) = AcceptOne(OurOptions.Server());
            PeerProcess client = StartClient(IPAddress.Loopback, port, null, "--priority", priority);
            var e = (DtlsException)await CatchAsync(async () => await accepted);
            Assert.That(e.Alert, Is.Not.Null.And.Property("Sent").True, e.ToString());
            Assert.That(e.Alert!.Name, Does.Contain(peer == "CBC only" ? "handshake failure" : "protocol version").IgnoreCase, e.ToString());
            Assert.That(await client.WaitForExitAsync(Bound), Is.Not.Zero, "gnutls-cli failed");
            // gnutls-cli 3.7.9 does not report an alert that answers its first ClientHello: it retransmits to our
            // closed socket and stops at the ICMP error ("Error in the push function").
            Note($"our error: {e.Message}; gnutls-cli: {Tail(client)}");
        }
    }

    /// <summary>
    /// A refusal by gnutls-serv: RFC 5246 wants a fatal alert, which our client reports; gnutls-serv 3.7.9 in --udp
    /// mode sends none (it logs its reason and waits for the next client), so our client ends with
    /// a TimeoutException after its HandshakeTimeout. Either way the handshake must not succeed.
    /// </summary>
    private async Task ExpectRefusalByGnuTlsServAsync(PeerProcess server, int port, DtlsClientOptions options, string alert, string serverSays)
    {
        var bounded = new DtlsClientOptions
        {
            CaFile = options.CaFile, TargetHost = options.TargetHost, InsecureSkipCertificateValidation = options.InsecureSkipCertificateValidation,
            CertificateChainFile = options.CertificateChainFile, PrivateKeyFile = options.PrivateKeyFile,
            HandshakeTimeout = TimeSpan.FromSeconds(4),
        };
        Exception e = await CatchAsync(async () => await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), bounded));
        await server.WaitUntilAsync(p => p.StandardError.Contains(serverSays, StringComparison.Ordinal), Bound, $"gnutls-serv logs '{serverSays}'");
        if (e is DtlsException { Alert: { } received })
        {
            Assert.That(received.Name, Does.Contain(alert).IgnoreCase, e.ToString());
            Note($"our error: {e.Message}");
            return;
        }

        Assert.That(e, Is.InstanceOf<TimeoutException>(), e.ToString());
        PeerLimitation($"gnutls-serv --udp sends no alert (it logs '{serverSays}'); our client: TimeoutException after HandshakeTimeout");
        Note($"gnutls-serv: {Tail(server)}");
    }

    [Test]
    public async Task Mutual_authentication([Values] bool ourClient)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, "mutual authentication");
        if (ourClient)
        {
            (_, int port) = await StartServerAsync(null, "--require-client-cert", "--verify-client-cert", "--x509cafile", Pki.CaFile);
            await using DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), OurOptions.Client(certificate: Pki.Client));
            await EchoAndCloseAsync(session);
        }
        else
        {
            EchoListener listener = StartEchoListener(OurOptions.Server(requireClientCertificate: true));
            await EchoThroughAsync(StartClient(IPAddress.Loopback, listener.EndPoint.Port, null, "--x509certfile", Pki.Client.ChainFile, "--x509keyfile", Pki.Client.KeyFile));
            Assert.That((await listener.NextSessionAsync(Bound)).RemoteCertificate?.RawData, Is.EqualTo(Pki.Client.LeafDer));
        }
    }

    [Test]
    public async Task Refused_client_certificate_the_client_names_the_alert([Values] bool ourClient)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, ourClient ? "client certificate refused by the peer" : "client certificate refused by us");
        if (ourClient)
        {
            (_, int port) = await StartServerAsync(null, "--require-client-cert", "--verify-client-cert", "--x509cafile", Pki.CaFile);
            Exception e = await CatchAsync(async () =>
            {
                await using DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), OurOptions.Client(certificate: Pki.UntrustedClient));
                await RoundTripAsync(session, "after a refused certificate");
            });
            Assert.That(e, Is.InstanceOf<DtlsException>().With.Property("Alert").Not.Null, e.ToString());
            Note($"our error: {e.Message}");
        }
        else
        {
            (int port, Task<DtlsSession> accepted) = AcceptOne(OurOptions.Server(requireClientCertificate: true));
            PeerProcess client = StartClient(IPAddress.Loopback, port, null, "--x509certfile", Pki.UntrustedClient.ChainFile, "--x509keyfile", Pki.UntrustedClient.KeyFile);
            var e = (DtlsAuthenticationException)await CatchAsync(async () => await accepted);
            Assert.That(e.Failure, Is.EqualTo(DtlsCertificateFailure.Chain));
            await client.WaitForExitAsync(Bound);
            Assert.That(client.StandardOutput + client.StandardError, Does.Contain("Received alert [48]: CA is unknown"), "gnutls-cli names the alert");
            Note("gnutls-cli: " + Tail(client));
        }
    }

    [Test]
    public async Task ALPN([Values] bool ourClient)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, "ALPN");
        if (ourClient)
        {
            (_, int port) = await StartServerAsync(null, "--alpn", "h2", "--alpn-fatal");
            var options = new DtlsClientOptions { CaFile = Pki.CaFile, TargetHost = "localhost", ApplicationProtocols = ["x-unknown", "h2"] };
            await using DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), options);
            Assert.That(session.NegotiatedApplicationProtocol, Is.EqualTo("h2"));
            await EchoAndCloseAsync(session);
        }
        else
        {
            DtlsServerOptions baseline = OurOptions.Server();
            EchoListener listener = StartEchoListener(new DtlsServerOptions { CertificateChainFile = baseline.CertificateChainFile, PrivateKeyFile = baseline.PrivateKeyFile, ApplicationProtocols = ["coap"] });
            PeerProcess client = StartClient(IPAddress.Loopback, listener.EndPoint.Port, null, "--alpn", "coap");
            await EchoThroughAsync(client);
            Assert.That(client.StandardOutput, Does.Contain("- Application protocol: coap"));
        }
    }

    [Test]
    public async Task SNI_as_gnutls_serv_sees_it([Values] bool matching)
    {
        string name = matching ? "localhost" : "other.example";
        Row(ServerPeer, OursToPeer, $"SNI ({(matching ? "the name gnutls-serv expects" : "another name: unrecognized_name")})");
        // --sni-hostname-fatal: gnutls-serv compares the SNI it received with its own name and refuses another.
        (PeerProcess server, int port) = await StartServerAsync(null, "--sni-hostname", "localhost", "--sni-hostname-fatal");
        var options = new DtlsClientOptions { CaFile = matching ? Pki.CaFile : null, TargetHost = name, InsecureSkipCertificateValidation = !matching };
        if (matching)
        {
            await using DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), options);
            await EchoAndCloseAsync(session);
        }
        else
        {
            await ExpectRefusalByGnuTlsServAsync(server, port, options, "unrecognized name", "Error in handshake()");
        }
    }

    [Test]
    public async Task Host_name_check([Values] bool ourClient, [Values] bool right)
    {
        string name = right ? "localhost" : "wrong.example";
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, $"host-name check {(right ? "right" : "wrong")} ({name})");
        if (ourClient)
        {
            (_, int port) = await StartServerAsync(null);
            var endPoint = new IPEndPoint(IPAddress.Loopback, port);
            if (right)
            {
                await using DtlsSession session = await ConnectAsync(endPoint, OurOptions.Client(targetHost: name));
                await EchoAndCloseAsync(session);
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
            PeerProcess client = StartClient(IPAddress.Loopback, listener.EndPoint.Port, null, "--verify-hostname", name);
            if (right)
            {
                await EchoThroughAsync(client);
            }
            else
            {
                Assert.That(await client.WaitForExitAsync(Bound), Is.Not.Zero);
                Assert.That(client.StandardOutput + client.StandardError, Does.Contain("does not match the expected"));
            }
        }
    }

    [Test]
    public async Task DTLS_SRTP([Values] bool ourClient, [Values("SRTP_AES128_CM_SHA1_80", "SRTP_AES128_CM_SHA1_32")] string profile)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, $"DTLS-SRTP {profile}{(ourClient ? string.Empty : ", exported keys")}");
        string gnutlsProfile = profile.Replace("_CM_SHA1_", "_CM_HMAC_SHA1_", StringComparison.Ordinal);
        int length = KeyingMaterial.SrtpLength(profile);
        if (ourClient)
        {
            (_, int port) = await StartServerAsync(null, "--srtp-profiles", gnutlsProfile);
            await using DtlsSession session = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, port),
                new DtlsClientOptions { CaFile = Pki.CaFile, TargetHost = "localhost", SrtpProfiles = OfferedSrtpProfiles(profile) });
            Assert.That(session.SrtpProfile, Is.EqualTo(profile));
            await EchoAndCloseAsync(session);
            // gnutls-serv 3.7.9 accepts --keymatexport but prints no session details in --udp mode: the keys are compared in the gnutls-cli row.
            Note("keys compared in the gnutls-cli row: gnutls-serv --udp prints no exported keys");
        }
        else
        {
            DtlsServerOptions baseline = OurOptions.Server();
            EchoListener listener = StartEchoListener(new DtlsServerOptions { CertificateChainFile = baseline.CertificateChainFile, PrivateKeyFile = baseline.PrivateKeyFile, SrtpProfiles = OfferedSrtpProfiles(profile) });
            PeerProcess client = StartClient(IPAddress.Loopback, listener.EndPoint.Port, null, "--srtp-profiles", gnutlsProfile,
                "--keymatexport", KeyingMaterial.SrtpLabel, "--keymatexportsize", Text(length));
            string line = await client.WaitForOutputLineAsync("- Key material: ", Bound);
            DtlsSession session = await listener.NextSessionAsync(Bound);
            Assert.That(session.SrtpProfile, Is.EqualTo(profile));
            Assert.That(Convert.ToHexString(KeyingMaterial.Export(session, KeyingMaterial.SrtpLabel, length)), Is.EqualTo(line["- Key material: ".Length..].ToUpperInvariant()), "byte for byte");
            await EchoThroughAsync(client);
        }
    }

    [Test]
    public async Task Resumption([Values] bool ourClient, [Values("session ID", "ticket")] string mechanism)
    {
        Row(ourClient ? ServerPeer : ClientPeer, ourClient ? OursToPeer : PeerToOurs, $"resumption ({mechanism})");
        string[] noTicket = mechanism == "ticket" ? [] : ["--noticket"];
        if (ourClient)
        {
            (_, int port) = await StartServerAsync(null, noTicket);
            var endPoint = new IPEndPoint(IPAddress.Loopback, port);
            using var context = new DtlsContext(OurOptions.Client());
            await using (DtlsSession first = await DtlsClient.ConnectAsync(endPoint, context, cancellationToken: Token))
            {
                await EchoAndCloseAsync(first);
            }

            await using DtlsSession second = await DtlsClient.ConnectAsync(endPoint, context, cancellationToken: Token);
            Assert.That(second.IsResumed, Is.True, "our client resumed with gnutls-serv");
            await EchoAndCloseAsync(second);
        }
        else
        {
            DtlsServerOptions baseline = OurOptions.Server();
            EchoListener listener = StartEchoListener(new DtlsServerOptions { CertificateChainFile = baseline.CertificateChainFile, PrivateKeyFile = baseline.PrivateKeyFile, EnableSessionTickets = mechanism == "ticket" });
            PeerProcess client = StartClient(IPAddress.Loopback, listener.EndPoint.Port, null, ["--resume", .. noTicket]);
            await EchoThroughAsync(client);
            Assert.That(client.StandardOutput, Does.Contain("*** This is a resumed session"));
            Assert.That((await listener.NextSessionAsync(Bound)).IsResumed, Is.False);
            Assert.That((await listener.NextSessionAsync(Bound)).IsResumed, Is.True, "our server resumed");
        }
    }

    private static string GnuTlsVersion() => PeerVersions.Known().GetValueOrDefault(PeerVersions.GnuTls, "?");

    private static string Tail(PeerProcess process) =>
        string.Join(" / ", (process.StandardOutput + process.StandardError).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(3)).Trim();
}
