using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>
/// The samples' security and interop flags (--psk hex:, --psk-hint, --cipher, --srtp, --keylog,
/// --no-tickets, --connections, --no-echo, pin-only --pin) against openssl and gnutls peers.
/// </summary>
[TestFixture]
public sealed class SecurityFlagTests : ProcessTestBase
{
    private const string Key = "00112233445566778899aabbccddeeff";

    [Test]
    [CancelAfter(120_000)]
    public async Task EchoServer_tells_binary_identities_from_openssl_s_client_apart()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        EchoServerProcess server = await StartEchoServerAsync("--psk", $"hex:ff01:{Key}", "--psk", $"sensor-1:{Key}");

        PeerProcess good = Start("bash", "-c", $"exec {openssl} s_client -dtls1_2 -quiet -connect 127.0.0.1:{server.PortText} -psk_identity \"$(printf '\\xff\\x01')\" -psk {Key}");
        good.Write("binary identity\n");
        await good.WaitUntilAsync(p => p.StandardOutput.Contains("binary identity", StringComparison.Ordinal), ExchangeTimeout, "the echo for ff01");
        await server.Process.WaitUntilAsync(p => p.StandardError.Contains("psk_identity hex:ff01", StringComparison.Ordinal), ExchangeTimeout, "EchoServer logging the identity's bytes");

        PeerProcess stranger = Start("bash", "-c", $"exec {openssl} s_client -dtls1_2 -quiet -connect 127.0.0.1:{server.PortText} -psk_identity \"$(printf '\\xfe\\x01')\" -psk {Key}");
        stranger.Write("never\n");
        await stranger.WaitUntilAsync(p => p.StandardError.Contains("unknown psk identity", StringComparison.Ordinal), ExchangeTimeout, "fe01 refused");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task EchoServer_psk_hint_and_CCM_8_reach_openssl_s_client()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        EchoServerProcess server = await StartEchoServerAsync("--psk", $"sensor-1:{Key}", "--psk-hint", "lwm2m-hint", "--cipher", "PSK-AES128-CCM8");

        PeerProcess client = Start(openssl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{server.PortText}", "-psk_identity", "sensor-1", "-psk", Key, "-cipher", "PSK-AES128-CCM8");
        client.Write("ccm8\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("ccm8", StringComparison.Ordinal), ExchangeTimeout, "the echo");

        Assert.That(client.StandardOutput, Does.Contain("PSK identity hint: lwm2m-hint").And.Contain("Cipher is PSK-AES128-CCM8"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task EchoServer_psk_with_gnutls_cli_pskusername()
    {
        string gnutls = ExternalTool.Require("gnutls-cli", "gnutls-bin");
        EchoServerProcess server = await StartEchoServerAsync("--psk", $"gnutls-user:{Key}");

        PeerProcess client = Start(gnutls, "--udp", "-p", server.PortText, "127.0.0.1", "--pskusername=gnutls-user", $"--pskkey={Key}",
            "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CCM-8:-MAC-ALL:+AEAD");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("Handshake was completed", StringComparison.Ordinal), ExchangeTimeout, "gnutls-cli's handshake");
        client.Write("via gnutls\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("via gnutls", StringComparison.Ordinal), ExchangeTimeout, "the echo");
        await server.Process.WaitUntilAsync(p => p.StandardError.Contains("psk_identity gnutls-user", StringComparison.Ordinal), ExchangeTimeout, "the identity in EchoServer's log");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task EchoServer_srtp_line_equals_openssl_s_client_keying_material()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        EchoServerProcess server = await StartEchoServerAsync("--srtp", "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80");

        PeerProcess client = Start(openssl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{server.PortText}", "-use_srtp", "SRTP_AES128_CM_SHA1_80",
            "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", "60");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("Keying material: ", StringComparison.Ordinal), ExchangeTimeout, "s_client's keying material");
        string line = await server.Process.WaitForOutputLineAsync("srtp ", ExchangeTimeout);

        Assert.That(line, Is.EqualTo(ExpectedSrtpLine("SRTP_AES128_CM_SHA1_80", 16, 14, Material(client.StandardOutput, "Keying material: "))));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task EchoServer_srtp_line_equals_gnutls_cli_key_material()
    {
        string gnutls = ExternalTool.Require("gnutls-cli", "gnutls-bin");
        EchoServerProcess server = await StartEchoServerAsync("--srtp", "SRTP_AES128_CM_SHA1_32");

        PeerProcess client = Start(gnutls, "--udp", "-p", server.PortText, "127.0.0.1", "--insecure", "--srtp-profiles", "SRTP_AES128_CM_HMAC_SHA1_32",
            "--keymatexport", "EXTRACTOR-dtls_srtp", "--keymatexportsize", "60");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("- Key material: ", StringComparison.Ordinal), ExchangeTimeout, "gnutls-cli's key material");
        string line = await server.Process.WaitForOutputLineAsync("srtp ", ExchangeTimeout);

        Assert.That(line, Is.EqualTo(ExpectedSrtpLine("SRTP_AES128_CM_SHA1_32", 16, 14, Material(client.StandardOutput, "- Key material: "))));
    }

    [TestCase("SRTP_AEAD_AES_128_GCM", 16, 12)]
    [TestCase("SRTP_AEAD_AES_256_GCM", 32, 12)]
    [CancelAfter(120_000)]
    public async Task EchoClient_srtp_line_equals_openssl_s_server_keying_material(string profile, int keyLength, int saltLength)
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        int port = FreeUdpPort();
        PeerProcess server = Start(openssl, "s_server", "-dtls1_2", "-accept", Text(port), "-cert", Pki.ServerCertificateFile, "-key", Pki.ServerKeyFile,
            "-use_srtp", profile, "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", Text(2 * (keyLength + saltLength)));
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("ACCEPT", StringComparison.Ordinal), StartupTimeout, "s_server's ACCEPT");

        PeerProcess client = StartEchoClient("--port", Text(port), "--ca", Pki.CaFile, "--server-name", "localhost", "--srtp", profile, "--no-echo", "--message", "srtp");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Zero, client.Report());
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("Keying material: ", StringComparison.Ordinal), ExchangeTimeout, "s_server's keying material");
        Assert.That(client.StandardOutput.Trim(), Is.EqualTo(ExpectedSrtpLine(profile, keyLength, saltLength, Material(server.StandardOutput, "Keying material: "))));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task EchoClient_pin_without_server_name_connects_to_a_certificate_with_other_names()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        (string certificate, string key) = await WrongNameCertificateAsync(openssl);
        string pin = Convert.ToHexString(SHA256.HashData(X509CertificateLoader.LoadCertificateFromFile(certificate).RawData));
        int port = FreeUdpPort();
        PeerProcess server = Start(openssl, "s_server", "-dtls1_2", "-accept", Text(port), "-cert", certificate, "-key", key);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("ACCEPT", StringComparison.Ordinal), StartupTimeout, "s_server's ACCEPT");

        PeerProcess pinned = StartEchoClient("--port", Text(port), "--pin", pin, "--no-echo", "--message", "pinned only");
        Assert.That(await pinned.WaitForExitAsync(ExchangeTimeout), Is.Zero, pinned.Report());
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("pinned only", StringComparison.Ordinal), ExchangeTimeout, "the message on s_server");

        PeerProcess named = StartEchoClient("--port", Text(port), "--pin", pin, "--server-name", "localhost", "--no-echo");
        Assert.That(await named.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(1), named.Report());
        Assert.That(named.StandardError, Does.StartWith("error: certificate verification failed (Name)"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task EchoClient_connections_are_resumed_by_openssl_s_server()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        int port = FreeUdpPort();
        PeerProcess server = Start(openssl, "s_server", "-dtls1_2", "-accept", Text(port), "-cert", Pki.ServerCertificateFile, "-key", Pki.ServerKeyFile);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("ACCEPT", StringComparison.Ordinal), StartupTimeout, "s_server's ACCEPT");

        PeerProcess client = StartEchoClient("--port", Text(port), "--ca", Pki.CaFile, "--server-name", "localhost", "--connections", "3", "--no-echo");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Zero, client.Report());
        Assert.That(client.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "resumed", "resumed" }));
    }

    [TestCase(false)]
    [TestCase(true)]
    [CancelAfter(120_000)]
    public async Task EchoServer_no_tickets_sends_no_ticket_to_openssl_s_client(bool noTickets)
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        EchoServerProcess server = await StartEchoServerAsync(noTickets ? ["--no-tickets"] : []);

        PeerProcess client = Start(openssl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{server.PortText}");
        client.Write("tickets\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("tickets", StringComparison.Ordinal) && p.StandardOutput.Contains("Verify return code", StringComparison.Ordinal), ExchangeTimeout, "the echo and s_client's summary");

        Assert.That(client.StandardOutput.Contains("TLS session ticket:", StringComparison.Ordinal), Is.EqualTo(!noTickets), client.Report());
        PeerProcess resuming = StartEchoClient("--port", server.PortText, "--pin", server.Fingerprint!, "--connections", "2");
        Assert.That(await resuming.WaitForExitAsync(ExchangeTimeout), Is.Zero, resuming.Report());
        Assert.That(resuming.StandardOutput, Does.Contain("resumed\n"), "resumption by session ID without tickets");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task EchoClient_keylog_lines_equal_openssl_s_server_keylogfile()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        string ours = Path.Combine(Repository.Scratch, $"keylog-client-{Guid.NewGuid():N}.txt");
        string theirs = Path.Combine(Repository.Scratch, $"keylog-server-{Guid.NewGuid():N}.txt");
        int port = FreeUdpPort();
        PeerProcess server = Start(openssl, "s_server", "-dtls1_2", "-accept", Text(port), "-cert", Pki.ServerCertificateFile, "-key", Pki.ServerKeyFile, "-keylogfile", theirs);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("ACCEPT", StringComparison.Ordinal), StartupTimeout, "s_server's ACCEPT");

        PeerProcess client = StartEchoClient("--port", Text(port), "--ca", Pki.CaFile, "--server-name", "localhost", "--keylog", ours, "--no-echo");
        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Zero, client.Report());
        await server.WaitUntilAsync(_ => File.Exists(theirs) && File.ReadAllText(theirs).Contains("CLIENT_RANDOM", StringComparison.Ordinal), ExchangeTimeout, "s_server's key log");

        string[] Lines(string path) => File.ReadAllLines(path).Where(l => l.StartsWith("CLIENT_RANDOM ", StringComparison.Ordinal)).ToArray();
        Assert.That(Lines(ours), Is.EqualTo(Lines(theirs)).And.Not.Empty);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task EchoClient_cipher_refuses_legacy_suites_unless_allowed()
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        PeerProcess refused = StartEchoClient("--port", "4433", "--insecure", "--cipher", "ECDHE-ECDSA-AES128-SHA");
        Assert.That(await refused.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(2), refused.Report());
        Assert.That(refused.StandardError.Trim(), Does.StartWith("error: CipherList").And.Contain("ECDHE-ECDSA-AES128-SHA").And.Contain("InsecureAllowLegacyCipherSuites"));

        int port = FreeUdpPort();
        PeerProcess server = Start(openssl, "s_server", "-dtls1_2", "-accept", Text(port), "-cert", Pki.ServerCertificateFile, "-key", Pki.ServerKeyFile, "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA");
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("ACCEPT", StringComparison.Ordinal), StartupTimeout, "s_server's ACCEPT");
        PeerProcess defaults = StartEchoClient("--port", Text(port), "--ca", Pki.CaFile, "--server-name", "localhost", "--no-echo");
        Assert.That(await defaults.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(1), defaults.Report());
        Assert.That(defaults.StandardError, Does.Contain("handshake failure"));

        PeerProcess allowed = StartEchoClient("--port", Text(port), "--ca", Pki.CaFile, "--server-name", "localhost", "--no-echo",
            "--cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA", "--allow-legacy-ciphers");
        Assert.That(await allowed.WaitForExitAsync(ExchangeTimeout), Is.Zero, allowed.Report());
        Assert.That(allowed.StandardError, Does.Match("cipher TLS_ECDHE_(ECDSA|RSA)_WITH_AES_128_CBC_SHA "));
    }

    [TestCase("EchoServer", "--psk", "--psk-hint", "--cipher", "--allow-legacy-ciphers", "--srtp", "--keylog", "--no-tickets")]
    [TestCase("EchoClient", "--psk", "--cipher", "--allow-legacy-ciphers", "--srtp", "--keylog", "--connections", "--no-echo", "--pin")]
    [CancelAfter(60_000)]
    public async Task Help_lists_the_flags(string program, params string[] flags)
    {
        PeerProcess process = Start("dotnet", program == "EchoClient" ? SampleBinaries.EchoClientDll : SampleBinaries.EchoServerDll, "--help");
        Assert.That(await process.WaitForExitAsync(ExchangeTimeout), Is.Zero, process.Report());
        foreach (string flag in flags)
        {
            Assert.That(process.StandardOutput, Does.Contain(flag + " "), flag);
        }
    }

    private static byte[] Material(string output, string prefix)
    {
        string line = output.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return Convert.FromHexString(line[prefix.Length..]);
    }

    /// <summary>RFC 5764 §4.2: client key | server key | client salt | server salt.</summary>
    private static string ExpectedSrtpLine(string profile, int keyLength, int saltLength, byte[] material)
    {
        Assert.That(material, Has.Length.EqualTo(2 * (keyLength + saltLength)));
        string Hex(int offset, int length) => Convert.ToHexStringLower(material.AsSpan(offset, length));
        return $"srtp {profile} {Hex(0, keyLength)} {Hex(2 * keyLength, saltLength)} {Hex(keyLength, keyLength)} {Hex((2 * keyLength) + saltLength, saltLength)}";
    }

    private async Task<(string Certificate, string Key)> WrongNameCertificateAsync(string openssl)
    {
        string certificate = Path.Combine(Repository.Scratch, $"wrong-name-{Guid.NewGuid():N}.pem");
        string key = Path.ChangeExtension(certificate, ".key");
        PeerProcess req = Start(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", certificate,
            "-subj", "/CN=camera-7f3a.example", "-addext", "subjectAltName=DNS:camera-7f3a.example", "-days", "2");
        req.CloseInput();
        Assert.That(await req.WaitForExitAsync(ExchangeTimeout), Is.Zero, req.Report());
        return (certificate, key);
    }
}
