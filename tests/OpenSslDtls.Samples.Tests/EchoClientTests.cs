using System.Security.Cryptography;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>samples/EchoClient against other DTLS servers: GnuTLS's and OpenSSL's command-line tools, the C reference server, EchoServer.</summary>
[TestFixture]
public sealed class EchoClientTests : ProcessTestBase
{
    [Test]
    [CancelAfter(120_000)]
    public async Task Gets_its_message_echoed_by_gnutls_serv()
    {
        string gnutls = ExternalTool.Require("gnutls-serv", "gnutls-bin");
        int port = FreeUdpPort();
        PeerProcess server = Start(gnutls, "--udp", "--echo", "-p", Text(port), "--x509certfile", Pki.ServerCertificateFile, "--x509keyfile", Pki.ServerKeyFile);
        // gnutls-serv says "UDP Echo Server listening on ... done" on stderr.
        await server.WaitUntilAsync(p => (p.StandardOutput + p.StandardError).Contains("listening", StringComparison.OrdinalIgnoreCase), StartupTimeout, "gnutls-serv listening");

        PeerProcess client = StartEchoClient("--port", Text(port), "--ca", Pki.CaFile, "--message", "hello gnutls-serv", "--count", "3");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Zero, client.Report());
        Assert.That(client.StandardOutput, Is.EqualTo("hello gnutls-serv\n"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Connects_and_sends_to_openssl_s_server()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        int port = FreeUdpPort();
        // s_server prints what it receives but does not echo; its stdin stays open (EOF would stop it).
        PeerProcess server = Start(openssl, "s_server", "-dtls1_2", "-accept", Text(port), "-cert", Pki.ServerCertificateFile, "-key", Pki.ServerKeyFile);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("ACCEPT", StringComparison.Ordinal), StartupTimeout, "s_server's ACCEPT");

        PeerProcess client = StartEchoClient("--port", Text(port), "--ca", Pki.CaFile, "--server-name", "localhost", "--message", "hello s_server", "--timeout", "2");

        await server.WaitUntilAsync(p => p.StandardOutput.Contains("hello s_server", StringComparison.Ordinal), ExchangeTimeout, "the message on s_server's stdout");
        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(1), client.Report());
        Assert.That(client.StandardError, Does.Contain("connected peer").And.Contain("no echo within 2 s"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Gets_its_message_echoed_by_the_native_C_server()
    {
        await NativePeers.EnsureBuiltAsync();
        PeerProcess server = Start(NativePeers.Server, "--port", "0", "--cert", Pki.ServerCertificateFile, "--key", Pki.ServerKeyFile);
        int port = ParsePort(await server.WaitForOutputLineAsync("listening on ", StartupTimeout));

        PeerProcess client = StartEchoClient("--port", Text(port), "--ca", Pki.CaFile, "--message", "hello C server");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Zero, client.Report());
        Assert.That(client.StandardOutput, Is.EqualTo("hello C server\n"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Sends_4_KB_of_a_file_in_several_datagrams_to_the_native_C_server()
    {
        await NativePeers.EnsureBuiltAsync();
        string file = Path.Combine(Repository.Scratch, $"payload-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(file, Convert.ToBase64String(RandomNumberGenerator.GetBytes(6000)));
        PeerProcess server = Start(NativePeers.Server, "--port", "0");
        int port = ParsePort(await server.WaitForOutputLineAsync("listening on ", StartupTimeout));

        PeerProcess client = StartEchoClient("--port", Text(port), "--insecure", "--file", file, "--count", "2");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Zero, client.Report());
        Assert.That(client.StandardOutput.TrimEnd('\n'), Is.EqualTo((await File.ReadAllTextAsync(file))[..4096]));
        // 4096 bytes at the default MTU of 1200 take 4 datagrams each round.
        await server.WaitUntilAsync(p => p.StandardError.Contains("datagrams 8", StringComparison.Ordinal), ExchangeTimeout, "8 datagrams echoed");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Echoes_through_EchoServer_with_a_pinned_fingerprint()
    {
        EchoServerProcess server = await StartEchoServerAsync();
        string file = Path.Combine(Repository.Scratch, $"payload-{Guid.NewGuid():N}.bin");
        await File.WriteAllBytesAsync(file, RandomNumberGenerator.GetBytes(5000));

        PeerProcess client = StartEchoClient("--port", server.PortText, "--pin", server.Fingerprint!, "--file", file, "--count", "3");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Zero, client.Report());
        Assert.That(client.StandardError, Does.Contain("3 echo(es) of 4096 bytes matched"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Trusts_the_ephemeral_certificate_that_EchoServer_saved_with_cert_out()
    {
        string saved = Path.Combine(Repository.Scratch, $"ephemeral-{Guid.NewGuid():N}.pem");
        EchoServerProcess server = await StartEchoServerAsync("--cert-out", saved);

        PeerProcess client = StartEchoClient("--port", server.PortText, "--ca", saved, "--message", "trusted by file");
        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Zero, client.Report());
        Assert.That(client.StandardOutput, Is.EqualTo("trusted by file\n"));

        PeerProcess wrongName = StartEchoClient("--port", server.PortText, "--ca", saved, "--server-name", "example.com");
        Assert.That(await wrongName.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(1), wrongName.Report());
        Assert.That(wrongName.StandardError.Trim(), Does.StartWith("error: certificate verification failed (Name)").And.Contain("--server-name"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Reports_the_alert_of_a_server_that_refuses_its_ALPN()
    {
        EchoServerProcess server = await StartEchoServerAsync("--alpn", "echo/1");

        PeerProcess client = StartEchoClient("--port", server.PortText, "--pin", server.Fingerprint!, "--alpn", "other/2");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(1), client.Report());
        Assert.That(client.StandardError.Trim(), Does.StartWith("error: handshake with").And.Contain("no application protocol").And.Not.Contain("\n"));
    }

    private static int ParsePort(string listeningLine) =>
        int.Parse(listeningLine[(listeningLine.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    [Test]
    [CancelAfter(120_000)]
    public async Task A_timeout_against_a_silent_psk_server_names_the_possible_causes()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        int port = FreeUdpPort();
        // s_server with another key: OpenSSL cannot decrypt our Finished and, as DTLS allows, says nothing.
        PeerProcess server = Start(openssl, "s_server", "-dtls1_2", "-accept", Text(port), "-nocert", "-psk", "00112233445566778899aabbccddeeff", "-psk_identity", "device");
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("ACCEPT", StringComparison.Ordinal), StartupTimeout, "s_server's ACCEPT");

        PeerProcess client = StartEchoClient("--port", Text(port), "--psk", "device:ffeeddccbbaa99887766554433221100", "--timeout", "3");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(1), client.Report());
        Assert.That(client.StandardError, Does.Contain("timed out").And.Contain("PSK key mismatch").And.Not.Contain("is a DTLS server listening there?"));
    }
}
