using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using NUnit.Framework;
using OpenSslDtls.Samples.Tests.Fleet.Support;

namespace OpenSslDtls.Samples.Tests.Fleet;

/// <summary>
/// What happens to sessions behind nginx when an instance dies, and when nginx's UDP session ends before
/// ours (proxy_timeout against the listener's IdleTimeout; docs/deployment.md).
/// </summary>
public class FailoverTests : FleetTestBase
{
    private static readonly TimeSpan EchoDeadline = TimeSpan.FromSeconds(3);

    [Test]
    [CancelAfter(240_000)]
    public async Task Clients_of_a_killed_instance_reconnect_to_the_survivors_and_the_other_clients_never_notice(CancellationToken ct)
    {
        (string cookie, string tickets) = NewSecrets(NewDirectory("secrets"));
        EchoInstance[] fleet = await StartFleetAsync(3, cookie, tickets);
        // The address hash keeps each client on one instance; proxy_bind shows each instance its clients' own ports.
        (PeerProcess nginx, NginxConfig config, _) = await StartNginxAsync(fleet, Balancing.HashRemoteAddress, TimeSpan.FromSeconds(60), "127.0.0.2:$remote_port");
        var balancer = new IPEndPoint(IPAddress.Loopback, config.ListenPort);
        FleetClient[] clients = [.. Enumerable.Range(11, 9).Select(i => new FleetClient(IPAddress.Parse($"127.0.0.{i}"), balancer, Pki.CaFile))];
        try
        {
            foreach (FleetClient client in clients)
            {
                await client.ConnectAsync(ct);
            }

            await fleet[0].Process.WaitUntilAsync(_ => fleet.Sum(i => i.SessionsOpened.Count) == clients.Length, PeerTimeout, "every client's session in the logs");
            EchoInstance InstanceOf(FleetClient c) => fleet.Single(i => i.SessionsOpened.Any(s => s.Peer == $"127.0.0.2:{c.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture)}"));
            Dictionary<FleetClient, EchoInstance> placement = clients.ToDictionary(c => c, InstanceOf);
            EchoInstance victim = fleet.OrderByDescending(i => placement.Values.Count(v => v == i)).First();
            FleetClient[] orphans = [.. clients.Where(c => placement[c] == victim)];
            FleetClient[] others = [.. clients.Except(orphans)];
            string report = Report([nginx, .. fleet.Select(i => i.Process)]);
            Assert.That(others, Is.Not.Empty, $"the hash spread 9 addresses over more than one instance\n{report}");

            var failures = new ConcurrentBag<string>();
            var reconnected = new ConcurrentDictionary<FleetClient, bool>();
            await RoundAsync(0);
            await victim.Process.SignalAsync("KILL");
            await victim.Process.WaitForExitAsync(PeerTimeout);
            // Rounds go on until every orphan is back (bounded): the others must echo in every one of them.
            for (int round = 1; round <= 30 && (round <= 3 || reconnected.Count < orphans.Length); round++)
            {
                await RoundAsync(round);
            }

            report = Report([nginx, .. fleet.Select(i => i.Process)]);
            Assert.That(failures, Is.Empty, $"the other clients' echoes never failed\n{report}");
            Assert.That(reconnected.Keys, Is.EquivalentTo(orphans), $"every client of the killed instance came back\n{report}");
            foreach (FleetClient orphan in orphans)
            {
                EchoInstance now = InstanceOf(orphan);
                Assert.That(now, Is.Not.EqualTo(victim), report);
                Assert.That(orphan.IsResumed, Is.True, $"the survivor resumed its session (shared ticket keys)\n{report}");
            }

            async Task RoundAsync(int round) => await Task.WhenAll(clients.Select(async client =>
            {
                string text = $"{client.LocalEndPoint.Address}-round-{round}";
                try
                {
                    Assert.That(await client.EchoAsync(text, EchoDeadline, ct), Is.EqualTo(text));
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or TimeoutException && !ct.IsCancellationRequested)
                {
                    if (!orphans.Contains(client))
                    {
                        failures.Add($"{client.LocalEndPoint} round {round}: {e.GetType().Name} {e.Message}");
                        return;
                    }

                    // The instance is gone: a new handshake through the balancer (new port; the hash skips the dead upstream).
                    try
                    {
                        await client.ConnectAsync(ct);
                        Assert.That(await client.EchoAsync(text, EchoDeadline, ct), Is.EqualTo(text));
                        reconnected[client] = true;
                    }
                    catch (Exception again) when (again is OperationCanceledException or IOException or TimeoutException && !ct.IsCancellationRequested)
                    {
                        // nginx still hashed it to the dead instance; the next round tries again.
                    }
                }
            }));
        }
        finally
        {
            foreach (FleetClient client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task After_nginx_ends_an_idle_UDP_session_the_next_datagram_is_lost_and_the_client_resumes_on_a_new_handshake([Values] Balancing balancing, CancellationToken ct)
    {
        (string cookie, string tickets) = NewSecrets(NewDirectory("secrets"));
        EchoInstance[] fleet = await StartFleetAsync(2, cookie, tickets);
        // proxy_timeout (2 s) shorter than the instances' IdleTimeout (the default, minutes): the misconfiguration.
        (PeerProcess nginx, NginxConfig config, _) = await StartNginxAsync(fleet, balancing, TimeSpan.FromSeconds(2));
        await using var client = new FleetClient(IPAddress.Loopback, new IPEndPoint(IPAddress.Loopback, config.ListenPort), Pki.CaFile);
        await client.ConnectAsync(ct);
        Assert.That(await client.EchoAsync("before", EchoDeadline, ct), Is.EqualTo("before"));

        await nginx.WaitUntilAsync(p => NginxLog.TimedOut(p.StandardError) >= 1, PeerTimeout, "nginx ending the idle UDP session (udp timed out)");
        // nginx opens a new UDP session from a new upstream port: no instance knows that peer, the record is dropped.
        Assert.CatchAsync<OperationCanceledException>(async () => await client.EchoAsync("after", EchoDeadline, ct), Report(nginx));
        int[] upstreams = NginxLog.SessionUpstreams(nginx.StandardError);
        string report = Report([nginx, .. fleet.Select(i => i.Process)]);
        Assert.That(upstreams, Has.Length.EqualTo(2), report);
        Assert.That(upstreams[1] == upstreams[0], Is.EqualTo(balancing == Balancing.HashRemoteAddress), $"round-robin moved it, the hash kept the instance: lost either way\n{report}");

        await client.ConnectAsync(ct);
        Assert.That(client.IsResumed, Is.True, $"the new handshake resumes (shared ticket keys): cheap\n{report}");
        Assert.That(await client.EchoAsync("again", EchoDeadline, ct), Is.EqualTo("again"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task With_proxy_timeout_longer_than_IdleTimeout_the_instance_closes_first_and_the_client_is_told(CancellationToken ct)
    {
        (string cookie, string tickets) = NewSecrets(NewDirectory("secrets"));
        EchoInstance[] fleet = await StartFleetAsync(1, cookie, tickets, "--idle-timeout", "2");
        (PeerProcess nginx, NginxConfig config, _) = await StartNginxAsync(fleet, Balancing.RoundRobin, TimeSpan.FromSeconds(60));
        await using var client = new FleetClient(IPAddress.Loopback, new IPEndPoint(IPAddress.Loopback, config.ListenPort), Pki.CaFile);
        await client.ConnectAsync(ct);
        Assert.That(await client.EchoAsync("before", EchoDeadline, ct), Is.EqualTo("before"));

        // The listener reaps the idle session and sends close_notify, which still has nginx's UDP session to travel back on.
        Assert.That(await client.ReceiveAsync(PeerTimeout, ct), Is.Zero, Report(nginx, fleet[0].Process));
        await fleet[0].Process.WaitUntilAsync(p => p.StandardError.Contains("reason idle timeout", StringComparison.Ordinal), PeerTimeout, "the instance's idle-timeout line");
        Assert.That(NginxLog.TimedOut(nginx.StandardError), Is.Zero);
    }
}
