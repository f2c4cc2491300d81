using System.Globalization;
using System.Text.RegularExpressions;

namespace OpenSslDtls.Samples.Tests.Fleet.Support;

/// <summary>One EchoServer process of the fleet: its port, and what its log says it did.</summary>
public sealed partial record EchoInstance(PeerProcess Process, int Port)
{
    public string Name => $"instance :{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Its "session opened" lines: the peer as it saw it (nginx's upstream side) and whether the session resumed.</summary>
    public IReadOnlyList<(string Peer, bool Resumed)> SessionsOpened =>
        [.. SessionLine().Matches(Process.StandardError).Select(m => (m.Groups[1].Value, m.Groups[2].Value == "yes"))];

    /// <summary>The statistics line it logs when stopped (SIGTERM), or null before.</summary>
    public FleetStatistics? Statistics => StatisticsLine().Match(Process.StandardError) is { Success: true } m
        ? new FleetStatistics(Number(m, 1), Number(m, 2), Number(m, 3), Number(m, 4))
        : null;

    private static long Number(Match m, int group) => long.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"session opened peer (\S+) .* resumed (yes|no)")]
    private static partial Regex SessionLine();

    [GeneratedRegex(@"statistics cookies_sent (\d+) cookies_verified (\d+) cookies_rejected (\d+) handshakes_completed (\d+)")]
    private static partial Regex StatisticsLine();
}

/// <summary>The counters an EchoServer logs when it stops.</summary>
public sealed record FleetStatistics(long CookiesSent, long CookiesVerified, long CookiesRejected, long HandshakesCompleted);
