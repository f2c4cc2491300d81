using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests.Coap;

/// <summary>samples/CoapServer's command line: bad arguments exit 2 with one <c>error:</c> line naming the problem; SIGTERM exits 0.</summary>
[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class CoapServerCommandLineTests : CoapTestBase
{
    [TestCase("", "--psk IDENTITY:HEXKEY")]
    [TestCase("--psk bad", "invalid --psk 'bad'")]
    [TestCase("--psk device:0g", "invalid --psk key '0g'")]
    [TestCase("--psk a:01 --psk a:02", "--psk identity 'a' is given twice")]
    [TestCase("--psk a:01 --cipher NOPE", "CipherList")]
    [TestCase("--cert /nonexistent.pem --key /nonexistent.key", "cannot read --cert")]
    [TestCase("--cert /nonexistent.pem", "--cert and --key must be given together")]
    [TestCase("--psk a:01 --port 70000", "invalid value for --port")]
    [TestCase("--psk a:01 --host nohost", "invalid --host 'nohost'")]
    public async Task Bad_arguments_exit_2_naming_the_problem(string arguments, string expected)
    {
        string dll = Path.Combine(TestContext.CurrentContext.TestDirectory, "CoapServer.dll");
        PeerProcess run = await RunAsync("dotnet", [dll, .. arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.Report());
        Assert.That(run.StandardError, Does.StartWith("error: ").And.Contain(expected), run.Report());
    }

    [Test]
    public async Task Sigterm_exits_0()
    {
        (PeerProcess server, _) = await StartCoapServerAsync("--psk", "device:01");
        await server.SignalAsync("TERM");
        Assert.That(await server.WaitForExitAsync(ExchangeTimeout), Is.EqualTo(0), server.Report());
    }
}
