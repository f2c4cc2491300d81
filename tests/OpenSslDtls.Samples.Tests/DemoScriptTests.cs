using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>samples/demo.sh, the README's first command, run as a user would run it.</summary>
[TestFixture]
public sealed class DemoScriptTests : ProcessTestBase
{
    [Test]
    [CancelAfter(600_000)]
    public async Task Demo_builds_echoes_stops_the_server_and_exits_0()
    {
        // ARTIFACTS: reuse this run's Release build, so the script's build is an incremental no-op.
        PeerProcess demo = PeerProcess.Start(
            "bash",
            [Repository.PathOf("samples", "demo.sh")],
            new Dictionary<string, string?> { ["ARTIFACTS"] = SampleBinaries.ArtifactsPath, ["MESSAGE"] = "demo message" },
            Repository.Root);
        await using (demo)
        {
            Assert.That(await demo.WaitForExitAsync(TimeSpan.FromMinutes(5)), Is.Zero, demo.Report());
            Assert.That(demo.StandardOutput, Does.Contain("listening on 127.0.0.1:"));
            Assert.That(demo.StandardOutput.Split('\n'), Does.Contain("demo message"), "the echo");
            Assert.That(demo.StandardOutput, Does.Contain("server exit code 0, client exit code 0"));
        }
    }
}
