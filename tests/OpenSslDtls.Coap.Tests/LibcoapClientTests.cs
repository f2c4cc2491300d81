using System.Globalization;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests.Coap;

/// <summary>
/// libcoap's coap-client (Debian's libcoap3-bin, built against OpenSSL and against GnuTLS) asks
/// samples/CoapServer for its resources over DTLS, with PSK per device and with certificates.
/// coap-client cannot force a suite, so the server's --cipher forces it (the client must offer it).
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class LibcoapClientTests : CoapTestBase
{
    private const string Links = "</hello>;rt=\"greeting\";title=\"Hello\";ct=0,</time>;rt=\"clock\";title=\"UTC time\";ct=0";

    // libcoap 4.3.1's -k takes the key as a raw string (PEERS.md): printable keys only.
    private static readonly (string Identity, string Key)[] Devices = [("device-1", "secret-of-device-1"), ("device-2", "other-secret-2")];

    public static readonly string[] Clients = ["coap-client-openssl", "coap-client-gnutls"];

    [Test]
    public async Task Every_device_gets_every_resource_with_its_own_psk(
        [ValueSource(nameof(Clients))] string client,
        [Values(null, "PSK-AES128-CCM8", "PSK-AES128-GCM-SHA256", "PSK-AES128-CCM", "ECDHE-PSK-CHACHA20-POLY1305")] string? forcedCipher)
    {
        string tool = ExternalTool.Require(client, "libcoap3-bin");
        (PeerProcess server, int port) = await StartCoapServerAsync([.. Devices.SelectMany(d => new[] { "--psk", $"{d.Identity}:{Hex(d.Key)}" }), .. CipherArguments(forcedCipher)]);

        foreach ((string identity, string key) in Devices)
        {
            string[] psk = ["-u", identity, "-k", key];
            await AssertResourcesAsync(tool, port, psk, expectedDevice: identity);
        }

        await AssertCiphersAsync(server, forcedCipher, 5 * Devices.Length);
    }

    [Test]
    public async Task A_device_with_a_certificate_gets_every_resource(
        [ValueSource(nameof(Clients))] string client,
        [Values(null, "ECDHE-ECDSA-AES128-CCM8", "ECDHE-ECDSA-AES256-GCM-SHA384")] string? forcedCipher)
    {
        string tool = ExternalTool.Require(client, "libcoap3-bin");
        (PeerProcess server, int port) = await StartCoapServerAsync(["--cert", Pki.ServerCertificateFile, "--key", Pki.ServerKeyFile, "--ca", Pki.CaFile, .. CipherArguments(forcedCipher)]);

        // -C: verify the server's chain against the CA (and present our client certificate, which the server verifies with --ca).
        string[] pki = ["-c", Pki.ClientCertificateFile, "-j", Pki.ClientKeyFile, "-C", Pki.CaFile];
        await AssertResourcesAsync(tool, port, pki, expectedDevice: "echo-client.test");
        await AssertCiphersAsync(server, forcedCipher, 5);
    }

    [Test]
    public async Task An_unknown_identity_or_wrong_key_gets_no_response([ValueSource(nameof(Clients))] string client)
    {
        string tool = ExternalTool.Require(client, "libcoap3-bin");
        (PeerProcess server, int port) = await StartCoapServerAsync("--psk", $"device-1:{Hex("secret-of-device-1")}");

        foreach (string[] psk in new[] { new[] { "-u", "device-9", "-k", "secret-of-device-1" }, ["-u", "device-1", "-k", "wrong-secret"] })
        {
            PeerProcess run = await CoapClientAsync(tool, port, psk, "/hello");
            Assert.That(run.StandardOutput, Does.Not.Contain("Hello"), run.Report());
        }

        Assert.That(LoggedCiphers(server), Is.Empty, "no session may open without the device's key");
        await server.WaitUntilAsync(p => p.StandardError.Contains("unknown PSK identity", StringComparison.Ordinal), ExchangeTimeout, "the refused unknown identity in the server's log");
        await server.WaitUntilAsync(p => p.StandardError.Split('\n').Count(l => l.Contains("refused", StringComparison.Ordinal)) >= 2, ExchangeTimeout, "both refusals in the server's log");
    }

    [Test]
    public async Task Options_the_server_cannot_honour_get_4_02_and_4_06([ValueSource(nameof(Clients))] string client)
    {
        string tool = ExternalTool.Require(client, "libcoap3-bin");
        (_, int port) = await StartCoapServerAsync("--psk", $"device-1:{Hex("secret-of-device-1")}");
        string[] psk = ["-u", "device-1", "-k", "secret-of-device-1"];

        // Option 9 is critical (odd) and unknown to the server: 4.02 Bad Option (RFC 7252 §5.4.1).
        PeerProcess critical = await CoapClientAsync(tool, port, [.. psk, "-O", "9,x"], "/hello");
        Assert.That(critical.StandardError, Does.Contain("4.02 unsupported critical option 9"), critical.Report());

        // Accept: application/link-format (40) for a text/plain resource: 4.06 Not Acceptable (§5.10.4).
        PeerProcess accept = await CoapClientAsync(tool, port, [.. psk, "-A", "40"], "/hello");
        Assert.That(accept.StandardError, Does.Contain("4.06"), accept.Report());
        PeerProcess links = await CoapClientAsync(tool, port, [.. psk, "-A", "40"], "/.well-known/core");
        Assert.That(links.StandardOutput.Trim(), Is.EqualTo(Links), links.Report());
    }

    [Test]
    public async Task A_device_reaches_the_server_over_ipv6_loopback([ValueSource(nameof(Clients))] string client)
    {
        string tool = ExternalTool.Require(client, "libcoap3-bin");
        (PeerProcess server, int port) = await StartCoapServerAsync("--host", "::1", "--psk", $"device-1:{Hex("secret-of-device-1")}");

        PeerProcess hello = await RunAsync(tool, "-B", "10", "-u", "device-1", "-k", "secret-of-device-1", $"coaps://[::1]:{Text(port)}/hello");
        Assert.That(hello.StandardOutput.Trim(), Is.EqualTo("Hello, device-1!"), hello.Report());
        await WaitForSessionsAsync(server, 1);
        Assert.That(server.StandardError, Does.Contain("session opened peer [::1]:"), server.Report());
    }

    /// <summary>The five requests a device makes: the link format, /hello, /time (NON), 4.04 and 4.05.</summary>
    private async Task AssertResourcesAsync(string tool, int port, string[] credentials, string expectedDevice)
    {
        PeerProcess core = await CoapClientAsync(tool, port, credentials, "/.well-known/core");
        Assert.That(core.StandardOutput.Trim(), Is.EqualTo(Links), core.Report());

        PeerProcess hello = await CoapClientAsync(tool, port, credentials, "/hello");
        Assert.That(hello.StandardOutput.Trim(), Is.EqualTo($"Hello, {expectedDevice}!"), hello.Report());

        // -N: a NON request, answered with a NON response (RFC 7252 §5.2.3).
        PeerProcess time = await CoapClientAsync(tool, port, [.. credentials, "-N"], "/time");
        Assert.That(DateTime.TryParseExact(time.StandardOutput.Trim(), "yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out DateTime said), Is.True, time.Report());
        Assert.That(said, Is.EqualTo(DateTime.UtcNow).Within(TimeSpan.FromMinutes(1)), time.Report());

        // coap-client prints a 4.xx response code and its diagnostic payload on stderr.
        PeerProcess missing = await CoapClientAsync(tool, port, credentials, "/missing");
        Assert.That(missing.StandardError, Does.Contain("4.04 no resource at /missing"), missing.Report());

        PeerProcess put = await CoapClientAsync(tool, port, [.. credentials, "-m", "put", "-e", "42"], "/hello");
        Assert.That(put.StandardError, Does.Contain("4.05 only GET is allowed"), put.Report());
    }

    private async Task<PeerProcess> CoapClientAsync(string tool, int port, string[] options, string path)
    {
        // -B 10: coap-client gives up by itself after 10 s; RunAsync bounds it as well.
        PeerProcess run = await RunAsync(tool, ["-B", "10", .. options, $"coaps://127.0.0.1:{Text(port)}{path}"]);
        return run;
    }

    private static string[] CipherArguments(string? cipher) => cipher is null ? [] : ["--cipher", cipher];

    private static async Task AssertCiphersAsync(PeerProcess server, string? forcedCipher, int sessions)
    {
        string[] ciphers = await WaitForSessionsAsync(server, sessions);
        Assert.That(ciphers, Has.Length.EqualTo(sessions), server.Report());
        if (forcedCipher is not null)
        {
            Assert.That(ciphers, Is.All.EqualTo(IanaNames.Of(forcedCipher)), server.Report());
        }
    }
}
