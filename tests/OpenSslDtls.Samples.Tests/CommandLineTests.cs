using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>What the samples say when something is wrong: one line, the right exit code, no stack trace.</summary>
[TestFixture]
public sealed class CommandLineTests : ProcessTestBase
{
    [Test]
    [CancelAfter(120_000)]
    public async Task Default_verification_rejects_a_self_signed_server_and_says_how_to_trust_it()
    {
        EchoServerProcess server = await StartEchoServerAsync();

        PeerProcess client = StartEchoClient("--port", server.PortText, "--message", "should not arrive");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.Not.Zero, client.Report());
        string error = client.StandardError.Trim();
        Assert.That(error, Does.StartWith("error: certificate verification failed"));
        Assert.That(error, Does.Contain("--ca FILE").And.Contain("--pin").And.Contain("--insecure"));
        Assert.That(error, Does.Not.Contain("\n"), "one line");
        Assert.That(client.StandardOutput, Is.Empty);
    }

    [TestCase("EchoClient")]
    [TestCase("EchoServer")]
    [CancelAfter(120_000)]
    public async Task An_openssl_that_cannot_be_loaded_is_one_error_line_and_exit_code_1(string sample)
    {
        string empty = Directory.CreateTempSubdirectory("openssldtls-no-libssl-").FullName;
        try
        {
            string dll = sample == "EchoClient" ? SampleBinaries.EchoClientDll : SampleBinaries.EchoServerDll;
            PeerProcess run = Start("env", [$"OPENSSLDTLS_LIBRARY_DIR={empty}", "dotnet", dll, "--port", sample == "EchoClient" ? "9" : "0", .. (sample == "EchoClient" ? new[] { "--insecure" } : [])]);
            Assert.That(await run.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(1), run.Report());
            Assert.That(run.StandardError.Trim(), Does.StartWith("error: OpenSSL").And.Contain(empty).And.Not.Contain("\n"), run.Report());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [TestCase("EchoClient", "--port", "abc", "--port")]
    [TestCase("EchoClient", "--port", "70000", "--port")]
    [TestCase("EchoClient", "--no-such-option", null, "--no-such-option")]
    [TestCase("EchoClient", "--psk", "no-colon", "--psk")]
    [TestCase("EchoClient", "--ca", "/nonexistent/ca.pem", "/nonexistent/ca.pem")]
    [TestCase("EchoClient", "--file", "/nonexistent/data", "/nonexistent/data")]
    [TestCase("EchoClient", "--pin", "not-hex", "not-hex")]
    [TestCase("EchoServer", "--port", "-1", "--port")]
    [TestCase("EchoServer", "--mtu", "10", "--mtu")]
    [TestCase("EchoServer", "--bogus", null, "--bogus")]
    [TestCase("EchoServer", "--cert", "/nonexistent/cert.pem", "--key")]
    [TestCase("EchoServer", "--ca", "/nonexistent/ca.pem", "/nonexistent/ca.pem")]
    [TestCase("EchoServer", "--psk", "id:zz", "--psk")]
    [TestCase("EchoServer", "--psk", "hex:zz:00", "--psk")]
    [TestCase("EchoServer", "--psk-hint", "hint", "--psk-hint")]
    [TestCase("EchoServer", "--cipher", "PSK", "InsecureAllowLegacyCipherSuites")]
    [TestCase("EchoServer", "--srtp", "SRTP_NOPE", "SRTP_NOPE")]
    [TestCase("EchoClient", "--psk", "hex:610062:0011", "zero byte")]
    [TestCase("EchoClient", "--cipher", "AES128-SHA", "InsecureAllowLegacyCipherSuites")]
    [TestCase("EchoClient", "--connections", "0", "--connections")]
    [CancelAfter(60_000)]
    public async Task A_bad_argument_is_one_error_line_and_exit_code_2(string program, string option, string? value, string named)
    {
        string dll = program == "EchoClient" ? SampleBinaries.EchoClientDll : SampleBinaries.EchoServerDll;
        PeerProcess process = Start("dotnet", value is null ? [dll, option] : [dll, option, value]);

        Assert.That(await process.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(2), process.Report());
        string error = process.StandardError.Trim();
        Assert.That(error, Does.StartWith("error: ").And.Contain(named));
        Assert.That(error, Does.Not.Contain("\n"), "one line, no stack trace");
        Assert.That(process.StandardOutput, Does.Not.Contain("listening on"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task An_unreadable_certificate_file_is_exit_code_2()
    {
        string garbage = Path.Combine(Repository.Scratch, $"garbage-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(garbage, "this is not PEM\n");

        PeerProcess process = Start("dotnet", SampleBinaries.EchoServerDll, "--port", "0", "--cert", garbage, "--key", garbage);

        Assert.That(await process.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(2), process.Report());
        Assert.That(process.StandardError.Trim(), Does.StartWith("error: ").And.Contain(garbage).And.Not.Contain("\n"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task No_server_is_a_timeout_with_exit_code_1()
    {
        PeerProcess client = StartEchoClient("--port", Text(FreeUdpPort()), "--insecure", "--timeout", "2");

        Assert.That(await client.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(1), client.Report());
        Assert.That(client.StandardError.Trim(), Does.StartWith("error: handshake with 127.0.0.1:").And.Not.Contain("\n"));
    }
}
