using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>samples/EchoServer against other DTLS clients: OpenSSL's and GnuTLS's command-line tools, the C reference client, EchoClient.</summary>
[TestFixture]
public sealed class EchoServerTests : ProcessTestBase
{
    [Test]
    [CancelAfter(120_000)]
    public async Task Openssl_s_client_gets_its_message_echoed()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        EchoServerProcess server = await StartEchoServerAsync();
        // -quiet also means -ign_eof: the client stays connected until the test ends it.
        PeerProcess client = Start(openssl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{server.PortText}", "-servername", "localhost", "-quiet");
        client.Write("hello from openssl s_client\n");

        await client.WaitUntilAsync(p => p.StandardOutput.Contains("hello from openssl s_client", StringComparison.Ordinal), ExchangeTimeout, "the echo on s_client's stdout");
        await server.Process.WaitUntilAsync(p => p.StandardError.Contains("session opened", StringComparison.Ordinal), ExchangeTimeout, "a 'session opened' log line");
        Assert.That(server.Process.StandardError, Does.Contain("DTLSv1.2"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Gnutls_cli_gets_its_message_echoed()
    {
        string gnutls = ExternalTool.Require("gnutls-cli", "gnutls-bin");
        EchoServerProcess server = await StartEchoServerAsync();
        PeerProcess client = Start(gnutls, "--udp", "--insecure", "-p", server.PortText, "127.0.0.1");
        client.Write("hello from gnutls-cli\n");

        await client.WaitUntilAsync(p => p.StandardOutput.Split('\n').Any(l => l.TrimEnd('\r') == "hello from gnutls-cli"), ExchangeTimeout, "the echo on gnutls-cli's stdout");
        client.CloseInput(); // EOF: gnutls-cli sends close_notify and exits
        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Zero, client.Report());
        await server.Process.WaitUntilAsync(p => p.StandardError.Contains("reason the peer sent close_notify", StringComparison.Ordinal), ExchangeTimeout, "the session's close on close_notify");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Native_C_client_gets_its_message_echoed_by_a_server_with_a_CA_issued_certificate()
    {
        await NativePeers.EnsureBuiltAsync();
        EchoServerProcess server = await StartEchoServerAsync("--cert", Pki.ServerCertificateFile, "--key", Pki.ServerKeyFile);
        PeerProcess client = Start(NativePeers.Client, "--port", server.PortText, "--ca", Pki.CaFile, "--message", "hello from C", "--timeout", "20");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Zero, client.Report());
        Assert.That(client.StandardOutput, Is.EqualTo("hello from C\n"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Serves_many_native_clients_at_once()
    {
        await NativePeers.EnsureBuiltAsync();
        EchoServerProcess server = await StartEchoServerAsync();
        PeerProcess[] clients = [.. Enumerable.Range(0, 8).Select(i =>
            Start(NativePeers.Client, "--port", server.PortText, "--insecure", "--message", $"client {i}", "--count", "20", "--timeout", "20"))];

        for (int i = 0; i < clients.Length; i++)
        {
            Assert.That(await clients[i].WaitForExitAsync(ExchangeTimeout), Is.Zero, clients[i].Report());
            Assert.That(clients[i].StandardOutput, Is.EqualTo($"client {i}\n"));
        }

        await server.Process.WaitUntilAsync(
            p => p.StandardError.Split('\n').Count(l => l.Contains("session closed", StringComparison.Ordinal)) == clients.Length,
            ExchangeTimeout,
            "a 'session closed' line per client");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task SIGTERM_sends_close_notify_to_every_peer_and_exits_0()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        EchoServerProcess server = await StartEchoServerAsync();
        PeerProcess[] clients = [.. Enumerable.Range(0, 2).Select(_ =>
            Start(openssl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{server.PortText}", "-servername", "localhost", "-quiet"))];
        foreach (PeerProcess client in clients)
        {
            client.Write("still here\n");
            await client.WaitUntilAsync(p => p.StandardOutput.Contains("still here", StringComparison.Ordinal), ExchangeTimeout, "the echo");
        }

        await server.Process.SignalAsync("TERM");

        Assert.That(await server.Process.WaitForExitAsync(ExchangeTimeout), Is.Zero, server.Process.Report());
        foreach (PeerProcess client in clients)
        {
            // s_client ends when it reads close_notify (even with -ign_eof).
            await client.WaitForExitAsync(ExchangeTimeout);
        }

        Assert.That(server.Process.StandardError, Does.Contain("reason server shutdown"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Ctrl_C_stops_an_idle_server_with_exit_code_0()
    {
        EchoServerProcess server = await StartEchoServerAsync();

        await server.Process.SignalAsync("INT");

        Assert.That(await server.Process.WaitForExitAsync(ExchangeTimeout), Is.Zero, server.Process.Report());
        Assert.That(server.Process.StandardError, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Requires_and_verifies_client_certificates()
    {
        EchoServerProcess server = await StartEchoServerAsync(
            "--cert", Pki.ServerCertificateFile, "--key", Pki.ServerKeyFile, "--ca", Pki.CaFile, "--require-client-cert");

        PeerProcess withCertificate = StartEchoClient(
            "--port", server.PortText, "--ca", Pki.CaFile, "--cert", Pki.ClientCertificateFile, "--key", Pki.ClientKeyFile, "--message", "mutual");
        Assert.That(await withCertificate.WaitForExitAsync(ExchangeTimeout), Is.Zero, withCertificate.Report());
        Assert.That(withCertificate.StandardOutput, Is.EqualTo("mutual\n"));
        await server.Process.WaitUntilAsync(p => p.StandardError.Contains("CN=echo-client.test", StringComparison.Ordinal), ExchangeTimeout, "the client's subject in the log");

        PeerProcess without = StartEchoClient("--port", server.PortText, "--ca", Pki.CaFile, "--message", "anonymous", "--timeout", "5");
        Assert.That(await without.WaitForExitAsync(ExchangeTimeout), Is.Not.Zero, without.Report());
        Assert.That(without.StandardError.Trim(), Does.StartWith("error: ").And.Not.Contain("\n"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task PSK_and_ALPN_between_EchoClient_and_EchoServer()
    {
        EchoServerProcess server = await StartEchoServerAsync("--psk", "sample:00112233445566778899aabbccddeeff", "--alpn", "echo/1,other");

        PeerProcess client = StartEchoClient("--port", server.PortText, "--psk", "sample:00112233445566778899aabbccddeeff", "--alpn", "echo/1", "--message", "pre-shared");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Zero, client.Report());
        Assert.That(client.StandardOutput, Is.EqualTo("pre-shared\n"));
        Assert.That(client.StandardError, Does.Contain("alpn echo/1").And.Contain("PSK"));
        await server.Process.WaitUntilAsync(p => p.StandardError.Contains("psk_identity sample", StringComparison.Ordinal), ExchangeTimeout, "the PSK identity in the log");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Logs_an_idle_reaped_session_as_an_idle_timeout_not_close_notify()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        EchoServerProcess server = await StartEchoServerAsync("--idle-timeout", "1");
        // s_client connects, says nothing and keeps its stdin open: the session goes idle.
        PeerProcess client = Start(openssl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{server.PortText}", "-quiet");
        await server.Process.WaitUntilAsync(p => p.StandardError.Contains("session opened", StringComparison.Ordinal), ExchangeTimeout, "a 'session opened' log line");
        await server.Process.WaitUntilAsync(p => p.StandardError.Contains("reason idle timeout", StringComparison.Ordinal), ExchangeTimeout, "the session closed for idleness");
        Assert.That(server.Process.StandardError, Does.Not.Contain("reason the peer sent close_notify"), client.Report());
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Logs_each_refused_handshake_with_its_reason_at_the_default_level()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        EchoServerProcess server = await StartEchoServerAsync();
        // A CBC-only client: no suite in common with the AEAD-only defaults.
        PeerProcess client = Start(openssl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{server.PortText}", "-cipher", "ECDHE-ECDSA-AES128-SHA", "-quiet");
        await server.Process.WaitUntilAsync(p => p.StandardError.Contains("refused", StringComparison.Ordinal), ExchangeTimeout, "a 'refused' log line");
        string line = server.Process.StandardError.Split('\n').First(l => l.Contains("refused", StringComparison.Ordinal));
        Assert.That(line, Does.Contain("no shared cipher"), client.Report());
        Assert.That(line, Does.Contain("info:"), "logged at the default (Information) level");
    }
}
