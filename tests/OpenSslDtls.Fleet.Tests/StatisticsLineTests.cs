using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using NUnit.Framework;
using OpenSslDtls.Samples.Tests.Fleet.Support;

namespace OpenSslDtls.Samples.Tests.Fleet;

/// <summary>
/// EchoServer's statistics line prints what docs/deployment.md tells operators to watch: records from unknown
/// addresses that are not a ClientHello (what a client sends after its balancer session expired) among them.
/// </summary>
public partial class StatisticsLineTests : FleetTestBase
{
    [TestCase(1)]
    [TestCase(4)]
    [CancelAfter(60_000)]
    public async Task Records_from_unknown_addresses_that_are_not_a_ClientHello_are_counted_in_the_statistics_line(int records)
    {
        EchoInstance instance = await StartInstanceAsync();
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            for (int i = 0; i < records; i++)
            {
                // An epoch-1 application_data record (RFC 6347 §4.1: type 23, version 254.253, epoch, sequence, length):
                // what a client of an expired balancer session sends to an instance that never saw it.
                byte[] record = [23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, (byte)(i + 1), 0, 16, .. new byte[16]];
                await socket.SendToAsync(record, new IPEndPoint(IPAddress.Loopback, instance.Port));
            }
        }

        // One receive loop takes the socket's datagrams in order: once s_client's handshake is done, the records were counted.
        Assert.That(await RunSClientAsync(instance.Port), Does.Contain("Verification: OK"));
        await StopAsync(instance);
        Match line = Counters().Match(instance.Process.StandardError);
        Assert.That(line.Success, Is.True, instance.Process.Report());
        Assert.That(
            (long.Parse(line.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(line.Groups[2].Value, CultureInfo.InvariantCulture), long.Parse(line.Groups[3].Value, CultureInfo.InvariantCulture)),
            Is.EqualTo(((long)records, 0L, 0L)),
            instance.Process.Report());
    }

    [GeneratedRegex(@"dropped_not_client_hello (\d+) idle_sessions_reaped (\d+) sessions_replaced (\d+)")]
    private static partial Regex Counters();
}
