using System.Globalization;
using System.Text.RegularExpressions;
using NUnit.Framework;
using OpenSslDtls.Samples.Tests.Fleet.Support;

namespace OpenSslDtls.Samples.Tests.Fleet;

/// <summary>
/// docs/deployment.md's production nginx sketch (workers, reuseport, a shared zone, max_fails/fail_timeout)
/// is not run as a fleet; this checks only that nginx accepts it (nginx -t), its placeholders filled in.
/// </summary>
public partial class ProductionNginxSketchTests : FleetTestBase
{
    [Test]
    [CancelAfter(60_000)]
    public async Task The_production_sketch_is_a_configuration_nginx_accepts()
    {
        string nginx = ExternalTool.Require("nginx", "nginx libnginx-mod-stream");
        string doc = (await File.ReadAllTextAsync(Repository.PathOf("docs", "deployment.md"))).Replace("\r\n", "\n", StringComparison.Ordinal);
        string sketch = NginxBlocks().Matches(doc).Select(m => m.Groups[1].Value).Single(b => b.Contains("production sketch", StringComparison.Ordinal));
        Assert.That(sketch, Does.Contain("zone ").And.Contain("max_fails=").And.Contain("fail_timeout=").And.Contain("reuseport"));

        string prefix = NewDirectory("nginx-sketch");
        string filled = sketch
            .Replace("INSTANCE_1", "127.0.0.1", StringComparison.Ordinal)
            .Replace("INSTANCE_2", "127.0.0.2", StringComparison.Ordinal)
            .Replace("/run/nginx-dtls.pid", Path.Combine(prefix, "nginx.pid"), StringComparison.Ordinal)
            .Replace("listen 4433 udp", $"listen 127.0.0.1:{FreeUdpPort().ToString(CultureInfo.InvariantCulture)} udp", StringComparison.Ordinal);
        Assert.That(filled, Does.Not.Match("[A-Z]+_[0-9]"), "every placeholder filled in");
        string file = Path.Combine(prefix, "nginx.conf");
        // Debian's nginx loads the stream module from a file (the sketch's nginx may have it built in).
        await File.WriteAllTextAsync(file, $"load_module {NginxConfig.StreamModule};\nerror_log stderr info;\n{filled}");
        PeerProcess check = Start(nginx, "-t", "-p", prefix, "-c", file, "-e", "stderr");
        Assert.That(await check.WaitForExitAsync(PeerTimeout), Is.Zero, check.Report());
        Assert.That(check.StandardError, Does.Contain("test is successful"), check.Report());
    }

    [GeneratedRegex("```nginx\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex NginxBlocks();
}
