using System.Text.Json;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Samples.Tests.Coap;

/// <summary>
/// The JavaScript PSK stacks smart-home integrations use: node-coap-client against samples/CoapServer
/// and node-dtls-client against an in-process <see cref="DtlsListener"/>, each forced to one suite
/// (node-dtls-client offers eleven PSK suites by default, PEERS.md).
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class NodePeerTests : CoapTestBase
{
    private const string Identity = "node-device";
    private const string Key = "node-secret-key"; // node-dtls-client takes the key as an ASCII string

    // Every PSK suite with an AEAD cipher that both node-dtls-client and OpenSSL 3.0 implement.
    private const string AeadPskCiphers = "PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-AES128-CCM:PSK-AES256-CCM:PSK-AES128-CCM8:PSK-AES256-CCM8";

    [Test]
    public async Task Node_coap_client_pings_and_gets_every_resource_from_CoapServer(
        [Values(null, "TLS_PSK_WITH_AES_128_CCM_8", "TLS_PSK_WITH_AES_128_GCM_SHA256", "TLS_PSK_WITH_AES_128_CCM")] string? forcedCipher)
    {
        (string node, string script) = JsPeers.Require("coap-requests.js");
        (PeerProcess server, int port) = await StartCoapServerAsync("--psk", $"{Identity}:{Hex(Key)}");

        PeerProcess run = await RunAsync(node, [script, "--port", Text(port), "--identity", Identity, "--key", Key,
            .. forcedCipher is null ? Array.Empty<string>() : ["--cipher", forcedCipher],
            "--request", "get /.well-known/core", "--request", "get /hello", "--request", "get /time non",
            "--request", "get /missing", "--request", "post /hello"]);
        JsonElement result = JsPeers.Result(run);

        Assert.That(result.GetProperty("ok").GetBoolean(), Is.True, run.Report());
        Assert.That(result.GetProperty("ping").GetBoolean(), Is.True, "an empty CON (CoAP ping) must be answered with RST");
        string[] answers = [.. result.GetProperty("responses").EnumerateArray().Select(r => $"{r.GetProperty("code").GetString()} {r.GetProperty("format")} {r.GetProperty("payload").GetString()}")];
        Assert.That(answers, Has.Length.EqualTo(5), run.Report());
        Assert.Multiple(() =>
        {
            Assert.That(answers[0], Is.EqualTo("2.05 40 </hello>;rt=\"greeting\";title=\"Hello\";ct=0,</time>;rt=\"clock\";title=\"UTC time\";ct=0"));
            Assert.That(answers[1], Is.EqualTo($"2.05 0 Hello, {Identity}!"));
            Assert.That(answers[2], Does.Match(@"^2\.05 0 \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"));
            Assert.That(answers[3], Is.EqualTo("4.04 0 no resource at /missing"));
            Assert.That(answers[4], Is.EqualTo("4.05 0 only GET is allowed"));
        });

        string[] ciphers = await WaitForSessionsAsync(server, 1);
        Assert.That(ciphers, Has.Length.EqualTo(1), "one DTLS session for the ping and all requests\n" + server.Report());
        if (forcedCipher is not null)
        {
            Assert.That(ciphers[0], Is.EqualTo(forcedCipher));
        }
    }

    [Test]
    public async Task Node_coap_client_reaches_CoapServer_over_ipv6_loopback()
    {
        (string node, string script) = JsPeers.Require("coap-requests.js");
        (_, int port) = await StartCoapServerAsync("--host", "::1", "--psk", $"{Identity}:{Hex(Key)}");

        PeerProcess run = await RunAsync(node, script, "--host", "::1", "--port", Text(port), "--identity", Identity, "--key", Key, "--request", "get /hello");
        JsonElement result = JsPeers.Result(run);

        Assert.That(result.GetProperty("ok").GetBoolean(), Is.True, run.Report());
        Assert.That(result.GetProperty("responses")[0].GetProperty("payload").GetString(), Is.EqualTo($"Hello, {Identity}!"));
    }

    [Test]
    public async Task Node_dtls_client_echoes_through_the_listener_with_each_aead_psk_suite(
        [Values("TLS_PSK_WITH_AES_128_GCM_SHA256", "TLS_PSK_WITH_AES_256_GCM_SHA384", "TLS_PSK_WITH_AES_128_CCM",
            "TLS_PSK_WITH_AES_256_CCM", "TLS_PSK_WITH_AES_128_CCM_8", "TLS_PSK_WITH_AES_256_CCM_8")] string cipher)
    {
        (string node, string script) = JsPeers.Require("dtls-psk-client.js");
        await using var server = InProcessEchoServer.Start(PskServer(AeadPskCiphers), ExchangeTimeout);
        string message = $"hello over {cipher}";

        PeerProcess run = await RunAsync(node, script, "--port", Text(server.Port), "--identity", Identity, "--key", Key, "--cipher", cipher, "--message", message);
        JsonElement result = JsPeers.Result(run);
        Assert.That(result.GetProperty("ok").GetBoolean(), Is.True, run.Report());
        Assert.That(result.GetProperty("echo").GetString(), Is.EqualTo(message));

        (DtlsSession session, byte[] echoed) = await server.Echoed.WaitAsync(ExchangeTimeout);
        Assert.Multiple(() =>
        {
            Assert.That(session.CipherSuite, Is.EqualTo(cipher));
            Assert.That(session.PskIdentityText, Is.EqualTo(Identity));
            Assert.That(System.Text.Encoding.UTF8.GetString(echoed), Is.EqualTo(message));
        });
    }

    [Test]
    public async Task Node_dtls_client_offering_only_a_cbc_suite_is_refused_by_the_default_list(
        [Values("TLS_PSK_WITH_AES_128_CBC_SHA256", "TLS_PSK_WITH_AES_128_CBC_SHA", "TLS_PSK_WITH_3DES_EDE_CBC_SHA")] string cipher)
    {
        (string node, string script) = JsPeers.Require("dtls-psk-client.js");
        await using var server = InProcessEchoServer.Start(PskServer(cipherList: null), ExchangeTimeout);

        PeerProcess run = await RunAsync(node, script, "--port", Text(server.Port), "--identity", Identity, "--key", Key, "--cipher", cipher);
        JsonElement result = JsPeers.Result(run);

        // Our listener answers with a handshake_failure alert (no shared suite), which the peer names.
        Assert.That(result.GetProperty("ok").GetBoolean(), Is.False, run.Report());
        Assert.That(result.GetProperty("error").GetString(), Does.Contain("handshake_failure"), run.Report());
        Assert.That(() => server.Statistics.HandshakesFailed, Is.EqualTo(1).After(5000, 20), "the listener counts the failed handshake");
        Assert.That(server.Echoed.IsCompleted, Is.False, "no session may be accepted");
    }

    private static DtlsServerOptions PskServer(string? cipherList) => new()
    {
        // The identity as text (node-dtls-client sends it as ASCII); samples/CoapServer/DeviceKeys.cs compares bytes.
        PskKeyLookup = request => request.IdentityText == Identity ? System.Text.Encoding.ASCII.GetBytes(Key) : null,
        CipherList = cipherList,
    };
}
