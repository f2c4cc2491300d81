using System.Globalization;
using System.Text.RegularExpressions;

namespace OpenSslDtls.Samples.Tests.Fleet.Support;

/// <summary>What nginx's error log says at level info about UDP sessions (ngx_stream_proxy_module).</summary>
public static partial class NginxLog
{
    /// <summary>The upstream port of each UDP session, in the order nginx opened them ("*N udp proxy A:P connected to 127.0.0.1:PORT").</summary>
    public static int[] SessionUpstreams(string log) =>
        [.. UpstreamLine().Matches(log).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];

    /// <summary>How many UDP sessions nginx ended after <c>proxy_timeout</c> without traffic ("udp timed out").</summary>
    public static int TimedOut(string log) => TimedOutLine().Count(log);

    [GeneratedRegex(@"udp proxy \S+ connected to 127\.0\.0\.1:(\d+)")]
    private static partial Regex UpstreamLine();

    [GeneratedRegex("udp timed out")]
    private static partial Regex TimedOutLine();
}
