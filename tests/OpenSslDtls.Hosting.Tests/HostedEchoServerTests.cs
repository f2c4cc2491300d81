using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using NUnit.Framework;
using OpenSslDtls.Samples.Tests;
using static OpenSslDtls.Hosting.Tests.HostingKit;

namespace OpenSslDtls.Hosting.Tests;

/// <summary>
/// samples/HostedEchoServer run as a process, configured as an operator would: its appsettings.json
/// overridden on the command line and through environment variables; openssl s_client is the peer.
/// </summary>
public sealed class HostedEchoServerTests : PeerProcessTestBase
{
    private static string OpenSsl => ExternalTool.Require("openssl", "openssl");

    private static string Dll => Path.Combine(TestContext.CurrentContext.TestDirectory, "HostedEchoServer.dll");

    [Test]
    [CancelAfter(90_000)]
    public async Task Echoes_s_client_bytes_with_the_certificate_from_the_command_line_and_SIGTERM_exits_0()
    {
        (PeerProcess server, int port) = await StartServerAsync(
            "--Dtls:Server:CertificateChainFile", Pki.ServerCertificateFile, "--Dtls:Server:PrivateKeyFile", Pki.ServerKeyFile);
        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-CAfile", Pki.CaFile, "-verify_return_error", "-servername", "localhost");
        await HandshakeDoneAsync(client);
        foreach (int length in new[] { 1, 100, 1000 })
        {
            await EchoThroughAsync(client, Payload(new string('x', length)));
        }

        client.CloseInput(); // s_client sends close_notify at the end of its input
        await server.WaitUntilAsync(p => p.StandardError.Contains("session closed", StringComparison.Ordinal), Bound, "the session closed by the peer");
        await server.SignalAsync("TERM");
        Assert.That(await server.WaitForExitAsync(Bound), Is.Zero, server.Report());
        Assert.That(client.StandardOutput, Does.Contain("Verify return code: 0 (ok)"));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task SIGTERM_drains_a_running_session_until_its_peer_leaves_then_exits_0()
    {
        (PeerProcess server, int port) = await StartServerAsync(
            "--Dtls:Server:CertificateChainFile", Pki.ServerCertificateFile, "--Dtls:Server:PrivateKeyFile", Pki.ServerKeyFile,
            "--shutdownTimeoutSeconds", "60");
        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-CAfile", Pki.CaFile);
        await HandshakeDoneAsync(client);
        await EchoThroughAsync(client, Payload("before"));

        await server.SignalAsync("TERM");
        await server.WaitUntilAsync(p => p.StandardError.Contains("draining", StringComparison.Ordinal), Bound, "the server draining");
        await EchoThroughAsync(client, Payload("during-the-drain"));
        Assert.That(server.ExitCode, Is.Null, "the server waits for its running session");

        var clock = Stopwatch.StartNew();
        client.CloseInput();
        Assert.That(await server.WaitForExitAsync(Bound), Is.Zero, server.Report());
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(15)), "it exited when the session ended, not at the 60 s shutdown timeout");
    }

    [TestCase("TERM")]
    [TestCase("INT")] // Ctrl+C
    [CancelAfter(90_000)]
    public async Task A_stop_signal_with_an_idle_peer_closes_it_at_the_shutdown_timeout_and_exits_0(string signal)
    {
        // The settings through environment variables this time (Dtls__Server__... is Dtls:Server:...).
        PeerProcess server = PeerProcess.Start("dotnet", [Dll, "--Dtls:Endpoints:0:Port", "0", "--shutdownTimeoutSeconds", "2"], new Dictionary<string, string?>
        {
            ["Dtls__Server__CertificateChainFile"] = Pki.ServerCertificateFile,
            ["Dtls__Server__PrivateKeyFile"] = Pki.ServerKeyFile,
        });
        await using (server)
        {
            int port = await PortAsync(server);
            PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-CAfile", Pki.CaFile, "-quiet");
            await EchoThroughAsync(client, Payload("idle-after-this"));

            var clock = Stopwatch.StartNew();
            await server.SignalAsync(signal);
            Assert.That(await server.WaitForExitAsync(Bound), Is.Zero, server.Report());
            Assert.That(clock.Elapsed, Is.GreaterThan(TimeSpan.FromSeconds(1.5)).And.LessThan(TimeSpan.FromSeconds(12)), server.Report());
            // s_client -quiet ends only when it reads close_notify.
            await client.WaitForExitAsync(Bound);
            Assert.That(server.StandardError, Does.Contain("shutdown timeout ended the drain"));
        }
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task An_idle_session_is_closed_at_IdleTimeout_logged_as_information_not_as_a_failure()
    {
        (PeerProcess server, int port) = await StartServerAsync(
            "--Dtls:Server:CertificateChainFile", Pki.ServerCertificateFile, "--Dtls:Server:PrivateKeyFile", Pki.ServerKeyFile,
            "--Dtls:Listener:IdleTimeout", "00:00:01");
        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-CAfile", Pki.CaFile, "-quiet");
        await EchoThroughAsync(client, Payload("then-idle"));

        await server.WaitUntilAsync(p => p.StandardError.Contains("idle for Listener:IdleTimeout", StringComparison.Ordinal), Bound, "the idle session closed");
        await client.WaitForExitAsync(Bound); // s_client -quiet ends when it reads close_notify
        await server.SignalAsync("TERM");
        Assert.That(await server.WaitForExitAsync(Bound), Is.Zero, server.Report());
        // The console logger's single-line levels: "fail:" is Error, "warn:" Warning.
        Assert.That(server.StandardError, Does.Not.Contain("fail:").And.Not.Contain("warn:"), server.Report());
    }

    [TestCase("PrivateKeyFile")]
    [TestCase("CertificateChainFile")]
    [CancelAfter(60_000)]
    public async Task A_missing_file_exits_1_naming_the_option_and_the_path(string option)
    {
        string missing = Path.Combine(Repository.Scratch, $"missing-{Guid.NewGuid():N}.pem");
        string certificate = option == "CertificateChainFile" ? missing : Pki.ServerCertificateFile;
        string key = option == "PrivateKeyFile" ? missing : Pki.ServerKeyFile;
        PeerProcess server = Start("dotnet", Dll, "--Dtls:Endpoints:0:Port", "0", "--Dtls:Server:CertificateChainFile", certificate, "--Dtls:Server:PrivateKeyFile", key);

        Assert.That(await server.WaitForExitAsync(Bound), Is.EqualTo(1), server.Report());
        Assert.Multiple(() =>
        {
            Assert.That(server.StandardError, Does.Contain($"HostedEchoServer: {option}").And.Contain(missing), server.Report());
            Assert.That(server.StandardOutput, Does.Not.Contain("listening on"));
        });
    }

    [TestCase("--Dtls:Endpoints:0:Port=4x33", "Dtls:Endpoints:0:Port")]
    [TestCase("--Dtls:Server:MinimumProtocl=Dtls12", "MinimumProtocl")]
    [CancelAfter(60_000)]
    public async Task A_mistyped_setting_exits_1_naming_it(string argument, string mention)
    {
        PeerProcess server = Start("dotnet", Dll, "--Dtls:Server:CertificateChainFile", Pki.ServerCertificateFile, "--Dtls:Server:PrivateKeyFile", Pki.ServerKeyFile, "--Dtls:Endpoints:1:Address=127.0.0.1", "--Dtls:Endpoints:1:Port=0", argument);

        Assert.That(await server.WaitForExitAsync(Bound), Is.EqualTo(1), server.Report());
        Assert.That(server.StandardError, Does.Contain(mention), server.Report());
        Assert.That(server.StandardOutput, Does.Not.Contain("listening on"), server.Report());
    }

    [Test]
    public void The_README_JSON_is_the_samples_appsettings_that_its_s_client_line_is_run_against()
    {
        // The README's s_client line (-CAfile only, no client certificate, no PSK) works with this configuration.
        string readme = File.ReadAllText(Repository.PathOf("README.md"));
        int start = readme.IndexOf("```json\n", StringComparison.Ordinal) + "```json\n".Length;
        JsonNode shown = JsonNode.Parse(readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)])!;
        JsonNode sample = JsonNode.Parse(File.ReadAllText(Repository.PathOf("samples", "HostedEchoServer", "appsettings.json")))!;
        Assert.Multiple(() =>
        {
            Assert.That(JsonNode.DeepEquals(shown["Dtls"], sample["Dtls"]), Is.True, $"README:\n{shown["Dtls"]}\nsample:\n{sample["Dtls"]}");
            Assert.That(JsonNode.DeepEquals(shown["shutdownTimeoutSeconds"], sample["shutdownTimeoutSeconds"]), Is.True);
        });
        Assert.That(readme, Does.Contain("openssl s_client -dtls1_2 -connect 127.0.0.1:4433 -CAfile ca.crt -servername localhost"));
    }

    private async Task<(PeerProcess Server, int Port)> StartServerAsync(params string[] arguments)
    {
        PeerProcess server = Start("dotnet", [Dll, "--Dtls:Endpoints:0:Port", "0", .. arguments]);
        return (server, await PortAsync(server));
    }

    private static async Task<int> PortAsync(PeerProcess server)
    {
        string line = await server.WaitForOutputLineAsync("listening on 127.0.0.1:", StartupTimeout);
        return int.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
    }
}
