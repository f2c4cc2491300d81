using System.Globalization;
using System.Net;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Interop.Tests.Support;

namespace OpenSslDtls.Interop.Tests;

/// <summary>The C reference peers in native/ (libssl driven by the classic DTLSv1_listen server and a blocking client).</summary>
public sealed class NativePeerTests : InteropTest
{
    private const string ServerPeer = "native dtls-echo-server";
    private const string ClientPeer = "native dtls-echo-client";

    public enum Feature
    {
        Certificate,
        Psk,
        MutualAuthentication,
        Alpn,
        IPv6,
    }

    private static string Describe(Feature feature) => feature switch
    {
        Feature.Certificate => "certificate, default suites",
        Feature.Psk => "PSK, default suites",
        Feature.MutualAuthentication => "mutual authentication",
        Feature.Alpn => "ALPN",
        _ => "IPv6 ::1, default suites",
    };

    [Test]
    public async Task Our_client_with_the_native_server([Values] Feature feature)
    {
        Row(ServerPeer, OursToPeer, Describe(feature));
        (string serverPath, _) = await Peers.NativeAsync();
        IPAddress address = feature == Feature.IPv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        string[] extra = feature switch
        {
            Feature.Psk => ["--psk", $"{Suites.PskIdentity}:{Suites.PskKeyHex}"],
            Feature.MutualAuthentication => ["--cert", Pki.EcdsaServer.ChainFile, "--key", Pki.EcdsaServer.KeyFile, "--ca", Pki.CaFile, "--require-client-cert"],
            Feature.Alpn => ["--cert", Pki.EcdsaServer.ChainFile, "--key", Pki.EcdsaServer.KeyFile, "--alpn", "coap,h2"],
            _ => ["--cert", Pki.EcdsaServer.ChainFile, "--key", Pki.EcdsaServer.KeyFile],
        };
        PeerProcess server = Start(serverPath, ["--host", address.ToString(), "--port", "0", .. extra]);
        string line = await server.WaitForOutputLineAsync("listening on ", Bound);
        int port = int.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        UsesPort(port);
        DtlsClientOptions options = feature switch
        {
            Feature.Psk => OurOptions.Client(Suites.PskAes128Gcm),
            Feature.MutualAuthentication => OurOptions.Client(certificate: Pki.Client),
            Feature.Alpn => new DtlsClientOptions { CaFile = Pki.CaFile, TargetHost = "localhost", ApplicationProtocols = ["h2"] },
            Feature.IPv6 => OurOptions.Client(targetHost: "::1"),
            _ => OurOptions.Client(),
        };
        await using DtlsSession session = await ConnectAsync(new IPEndPoint(address, port), options);
        string payload = Payload("native");
        Assert.That(await RoundTripAsync(session, payload), Is.EqualTo(payload));
        if (feature == Feature.Alpn)
        {
            Assert.That(session.NegotiatedApplicationProtocol, Is.EqualTo("h2"));
        }

        if (feature == Feature.Psk)
        {
            Assert.That(session.CipherSuite, Does.Contain("_PSK_WITH_"));
            Note("suite: " + session.CipherSuite);
        }

        await session.ShutdownAsync(Token);
    }

    [Test]
    public async Task The_native_client_with_our_server([Values] Feature feature)
    {
        Row(ClientPeer, PeerToOurs, Describe(feature));
        (_, string clientPath) = await Peers.NativeAsync();
        IPAddress address = feature == Feature.IPv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        DtlsServerOptions options = feature switch
        {
            Feature.Psk => OurOptions.Server(Suites.PskAes128Gcm),
            Feature.MutualAuthentication => OurOptions.Server(requireClientCertificate: true),
            Feature.Alpn => new DtlsServerOptions { CertificateChainFile = Pki.EcdsaServer.ChainFile, PrivateKeyFile = Pki.EcdsaServer.KeyFile, ApplicationProtocols = ["coap"] },
            _ => OurOptions.Server(),
        };
        EchoListener listener = StartEchoListener(options, address);
        string payload = StablePayload("native-" + feature);
        string[] extra = feature switch
        {
            Feature.Psk => ["--psk", $"{Suites.PskIdentity}:{Suites.PskKeyHex}"],
            Feature.MutualAuthentication => ["--ca", Pki.CaFile, "--server-name", "localhost", "--cert", Pki.Client.ChainFile, "--key", Pki.Client.KeyFile],
            Feature.Alpn => ["--ca", Pki.CaFile, "--server-name", "localhost", "--alpn", "coap"],
            _ => ["--ca", Pki.CaFile, "--server-name", "localhost"],
        };
        PeerProcess client = Start(clientPath, ["--host", address.ToString(), "--port", Text(listener.EndPoint.Port), "--message", payload, .. extra]);
        Assert.That(await client.WaitForExitAsync(Bound), Is.Zero, client.Report());
        Assert.That(client.StandardOutput, Does.Contain(payload), "the echo came back unchanged");
        DtlsSession session = await listener.NextSessionAsync(Bound);
        if (feature == Feature.MutualAuthentication)
        {
            Assert.That(session.RemoteCertificate?.RawData, Is.EqualTo(Pki.Client.LeafDer));
        }

        if (feature == Feature.Alpn)
        {
            Assert.That(client.StandardError, Does.Contain("alpn coap"));
        }
    }

    [Test]
    public async Task Host_name_check_by_the_native_client([Values("localhost", "wrong.example")] string name)
    {
        bool right = name == "localhost";
        Row(ClientPeer, PeerToOurs, $"host-name check {(right ? "right" : "wrong")} ({name})");
        (_, string clientPath) = await Peers.NativeAsync();
        EchoListener listener = StartEchoListener(OurOptions.Server());
        PeerProcess client = Start(clientPath, "--host", "127.0.0.1", "--port", Text(listener.EndPoint.Port), "--ca", Pki.CaFile, "--server-name", name, "--message", "name");
        int exit = await client.WaitForExitAsync(Bound);
        if (right)
        {
            Assert.That(exit, Is.Zero, client.Report());
        }
        else
        {
            Assert.That(exit, Is.EqualTo(1));
            Assert.That(client.StandardOutput + client.StandardError, Does.Contain("certificate verification failed"));
        }
    }
}
