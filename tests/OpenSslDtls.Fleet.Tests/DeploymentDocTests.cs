using System.Globalization;
using System.Text.RegularExpressions;
using NUnit.Framework;
using OpenSslDtls.Samples.Tests.Fleet.Support;

namespace OpenSslDtls.Samples.Tests.Fleet;

/// <summary>docs/deployment.md shows the nginx configuration these tests generate; this keeps the two the same.</summary>
public partial class DeploymentDocTests
{
    private const string HashComment = "        # hash $remote_addr consistent;   <- the address-hash variant\n";

    [TestCase(Balancing.RoundRobin)]
    [TestCase(Balancing.HashRemoteAddress)]
    public void The_documented_nginx_config_is_the_one_the_tests_generate(Balancing balancing)
    {
        string doc = File.ReadAllText(Repository.PathOf("docs", "deployment.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        Match block = NginxBlock().Match(doc);
        Assert.That(block.Success, Is.True, "docs/deployment.md has an ```nginx block");
        string shown = block.Groups[1].Value;
        Assert.That(shown, Does.Contain(HashComment));

        // Copyable: the documented placeholder, not a test's temporary directory (the tests render their own).
        string pidFile = Regex.Match(shown, @"pid (\S+);").Groups[1].Value;
        Assert.That(pidFile, Is.EqualTo("/run/nginx-dtls.pid"));
        int listen = int.Parse(Regex.Match(shown, @"listen 127\.0\.0\.1:(\d+) udp;").Groups[1].Value, CultureInfo.InvariantCulture);
        int[] upstreams = [.. Regex.Matches(shown, @"server 127\.0\.0\.1:(\d+);").Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];
        int timeout = int.Parse(Regex.Match(shown, @"proxy_timeout (\d+)s;").Groups[1].Value, CultureInfo.InvariantCulture);

        string expected = new NginxConfig(listen, upstreams, balancing, TimeSpan.FromSeconds(timeout)).Render(pidFile);
        string documented = shown.Replace(HashComment, balancing == Balancing.HashRemoteAddress ? "        hash $remote_addr consistent;\n" : string.Empty, StringComparison.Ordinal);
        Assert.That(documented, Is.EqualTo(expected));
        // The ports are the ones the documented start commands use.
        Assert.That(listen, Is.EqualTo(4433));
        Assert.That(upstreams, Is.EqualTo(new[] { 5001, 5002 }));
        Assert.That(doc, Does.Contain("--port 5001 --cert server.crt --key server.key").And.Contain("--port 5002 --cert server.crt --key server.key"));
    }

    [GeneratedRegex("```nginx\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex NginxBlock();
}
