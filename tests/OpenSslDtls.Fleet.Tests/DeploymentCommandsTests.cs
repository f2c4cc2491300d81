using System.Globalization;
using System.Text.RegularExpressions;
using NUnit.Framework;
using OpenSslDtls.Samples.Tests.Fleet.Support;

namespace OpenSslDtls.Samples.Tests.Fleet;

/// <summary>
/// docs/deployment.md's start commands, run as written (ports made free): every instance serves the one
/// certificate the commands make, so a client that verifies or pins it reaches any instance. Without
/// --cert/--key each instance made its own self-signed certificate.
/// </summary>
public partial class DeploymentCommandsTests : FleetTestBase
{
    [Test]
    [CancelAfter(120_000)]
    public async Task The_documented_start_commands_give_every_instance_the_same_certificate()
    {
        string doc = (await File.ReadAllTextAsync(Repository.PathOf("docs", "deployment.md"))).Replace("\r\n", "\n", StringComparison.Ordinal);
        string block = ShellBlock().Match(doc).Groups[1].Value;
        string[] lines = block.Split('\n');
        string[] starts = [.. lines.Where(l => l.StartsWith("dotnet EchoServer.dll ", StringComparison.Ordinal))];
        Assert.That(starts, Has.Length.EqualTo(2), block);
        string directory = NewDirectory("doc-commands");
        string setup = string.Join('\n', lines.Where(l => !l.StartsWith("dotnet ", StringComparison.Ordinal)));
        await Repository.RunToSuccessAsync("bash", ["-euo", "pipefail", "-c", setup], TimeSpan.FromSeconds(60), workingDirectory: directory);
        string certificate = (await File.ReadAllTextAsync(Path.Combine(directory, "server.crt"))).Trim();

        var instances = new List<PeerProcess>();
        try
        {
            foreach (string start in starts)
            {
                string[] arguments = start["dotnet EchoServer.dll ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                arguments[Array.IndexOf(arguments, "--port") + 1] = "0"; // a free port instead of 5001/5002
                PeerProcess instance = PeerProcess.Start("dotnet", [EchoServerDll, .. arguments], workingDirectory: directory);
                instances.Add(instance);
                string line = await instance.WaitForOutputLineAsync("listening on ", StartupTimeout);
                int port = int.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);

                // s_client trusts only the commands' certificate, and prints the one the instance served.
                PeerProcess client = Start(ExternalTool.Require("openssl", "openssl"), "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-CAfile", Path.Combine(directory, "server.crt"), "-verify_return_error", "-servername", "localhost");
                await client.WaitUntilAsync(p => p.StandardOutput.Contains("Cipher is", StringComparison.Ordinal), PeerTimeout, "s_client's handshake");
                client.CloseInput();
                await client.WaitForExitAsync(PeerTimeout);
                Match served = Pem().Match(client.StandardOutput);
                Assert.That(served.Value.Trim(), Is.EqualTo(certificate), $"{start}\n{client.Report()}\n{instance.Report()}");
                Assert.That(client.StandardOutput, Does.Contain("Verify return code: 0 (ok)"), client.Report());
            }
        }
        finally
        {
            foreach (PeerProcess instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }

    [GeneratedRegex("```sh\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ShellBlock();

    [GeneratedRegex("-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", RegexOptions.Singleline)]
    private static partial Regex Pem();
}
