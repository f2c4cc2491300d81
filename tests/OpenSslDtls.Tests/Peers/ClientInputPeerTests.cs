using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.Tests;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Peers;

/// <summary>Inputs that used to crash: DNS endpoints, non-IP sockets, PEM files with text before the block.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ClientInputPeerTests : CommandLinePeers
{
    [Test]
    [CancelAfter(60_000)]
    public async Task A_DnsEndPoint_is_resolved_and_reaches_openssl_s_server()
    {
        TestCertificate identity = TestPki.CreateSelfSigned();
        using var files = TempDirectory.Create("dns");
        TestPemFiles pem = identity.WritePem(files.Path);
        (PeerProcess server, IPEndPoint endpoint) = await StartOpenSslServerAsync("-4", "-cert", pem.CertificateFile, "-key", pem.PrivateKeyFile);
        var clock = Stopwatch.StartNew();

        await using DtlsSession session = await DtlsClient.ConnectAsync(
            new DnsEndPoint("localhost", endpoint.Port),
            new DtlsClientOptions { TargetHost = "localhost", TrustedCertificates = [identity.ToPublicX509Certificate2()], HandshakeTimeout = TimeSpan.FromSeconds(15) });
        await session.SendAsync("by name\n"u8.ToArray());

        await server.WaitUntilAsync(p => p.StandardOutput.Contains("by name", StringComparison.Ordinal), Bound, "the message on s_server");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "no address waited out its handshake timeout");
    }

    [Test]
    public void Unresolvable_names_and_non_IP_endpoints_are_typed_errors()
    {
        var options = new DtlsClientOptions { InsecureSkipCertificateValidation = true };
        Assert.Multiple(() =>
        {
            Assert.That(() => DtlsClient.ConnectAsync(new DnsEndPoint("no-such-host.invalid", 4433), options), Throws.InstanceOf<SocketException>());
            Assert.That(() => DtlsClient.ConnectAsync(new UnixDomainSocketEndPoint("/tmp/x.sock"), options), Throws.ArgumentException.With.Property("ParamName").EqualTo("endpoint"));
        });
    }

    [Test]
    public void A_session_over_a_non_IP_datagram_socket_is_an_ArgumentException()
    {
        using var files = TempDirectory.Create("unix");
        string path = files.File("peer.sock");
        using var peer = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        peer.Bind(new UnixDomainSocketEndPoint(path));
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(path));
        using var context = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true });

        Assert.That(() => new DtlsSession(context, socket), Throws.ArgumentException.With.Property("ParamName").EqualTo("socket").And.Message.Contains("IPv4 or IPv6"));
    }

    /// <summary>Files as openssl writes them: <c>openssl pkcs12 -nodes</c> (Bag Attributes before each block), a blank line first, DER.</summary>
    [TestCase("pkcs12-nodes")]
    [TestCase("blank-line")]
    [TestCase("der-key")]
    [CancelAfter(60_000)]
    public async Task Key_files_written_by_openssl_are_read_and_serve_openssl_s_client(string shape)
    {
        using var files = TempDirectory.Create("pem");
        string key = files.File("key.pem");
        string cert = files.File("cert.pem");
        await RunOpenSslAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=localhost", "-days", "2");
        (string chainFile, string keyFile) = shape switch
        {
            "pkcs12-nodes" => await Pkcs12NodesAsync(files, cert, key),
            "blank-line" => (cert, await PrefixAsync(files, key, "\n\n")),
            _ => (cert, await DerAsync(files, key)),
        };
        if (shape == "pkcs12-nodes")
        {
            Assert.That(await File.ReadAllTextAsync(keyFile), Does.StartWith("Bag Attributes"), "the shape under test");
        }

        await using var listener = EchoListener.Start(new DtlsServerOptions { CertificateChainFile = chainFile, PrivateKeyFile = keyFile });
        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-quiet", "-connect", $"127.0.0.1:{listener.Port}", "-CAfile", cert, "-verify_return_error", "-verify_hostname", "localhost");
        client.Write("pem\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("pem", StringComparison.Ordinal), Bound, "the echo to a verifying s_client");
    }

    private async Task<(string Chain, string Key)> Pkcs12NodesAsync(TempDirectory files, string cert, string key)
    {
        string p12 = files.File("bundle.p12");
        string combined = files.File("combined.pem");
        await RunOpenSslAsync("pkcs12", "-export", "-in", cert, "-inkey", key, "-out", p12, "-passout", "pass:");
        await RunOpenSslAsync("pkcs12", "-in", p12, "-nodes", "-passin", "pass:", "-out", combined);
        return (combined, combined);
    }

    private static async Task<string> PrefixAsync(TempDirectory files, string path, string prefix)
    {
        string output = files.File("prefixed.pem");
        await File.WriteAllTextAsync(output, prefix + await File.ReadAllTextAsync(path));
        return output;
    }

    private async Task<string> DerAsync(TempDirectory files, string key)
    {
        string der = files.File("key.der");
        await RunOpenSslAsync("pkey", "-in", key, "-outform", "DER", "-out", der);
        return der;
    }

    private async Task RunOpenSslAsync(params string[] arguments)
    {
        PeerProcess openssl = Start(OpenSsl, arguments);
        openssl.CloseInput();
        Assert.That(await openssl.WaitForExitAsync(Bound), Is.Zero, openssl.Report());
    }
}
