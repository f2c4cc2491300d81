using System.Globalization;
using System.Net;
using NUnit.Framework;
using OpenSslDtls.Samples.Tests.Fleet.Support;

namespace OpenSslDtls.Samples.Tests.Fleet;

/// <summary>
/// EchoServer instances behind nginx's UDP stream proxy (issue 15, docs/deployment.md), with openssl s_client,
/// gnutls-cli and EchoClient as the clients: echo through the balancer, a cookie issued by one instance verified by
/// another, a ticket issued by one instance resumed on another.
/// </summary>
public class NginxFleetTests : FleetTestBase
{
    [Test]
    [CancelAfter(180_000)]
    public async Task Clients_handshake_and_echo_through_nginx([Values] Balancing balancing)
    {
        (string cookie, string tickets) = NewSecrets(NewDirectory("secrets"));
        EchoInstance[] fleet = await StartFleetAsync(2, cookie, tickets);
        (PeerProcess nginx, NginxConfig config, _) = await StartNginxAsync(fleet, balancing, TimeSpan.FromSeconds(30));

        string output = await RunSClientAsync(config.ListenPort);
        Assert.That(output, Does.Contain("Verification: OK"));
        PeerProcess echoClient = Start("dotnet", EchoClientDll, "--host", "127.0.0.1", "--port", config.ListenPort.ToString(CultureInfo.InvariantCulture), "--ca", Pki.CaFile, "--message", "through nginx");
        Assert.That(await echoClient.WaitForExitAsync(PeerTimeout), Is.Zero, echoClient.Report());
        Assert.That(echoClient.StandardOutput, Does.Contain("through nginx"));

        string gnutls = ExternalTool.Require("gnutls-cli", "gnutls-bin");
        PeerProcess gnutlsClient = Start(gnutls, "-u", "-p", config.ListenPort.ToString(CultureInfo.InvariantCulture), "--x509cafile", Pki.CaFile, "127.0.0.1");
        await gnutlsClient.WaitUntilAsync(p => p.StandardOutput.Contains("Handshake was completed", StringComparison.Ordinal), PeerTimeout, "gnutls-cli's handshake");
        gnutlsClient.Write("gnutls through nginx\n");
        await gnutlsClient.WaitUntilAsync(p => p.StandardOutput.Contains("gnutls through nginx", StringComparison.Ordinal), PeerTimeout, "gnutls-cli's echo");
        gnutlsClient.CloseInput();

        // The three clients come from 127.0.0.1, each from its own port: round-robin spreads them, the address hash does not.
        await WaitForSessionsAsync(fleet, 3);
        int[] sessions = [.. fleet.Select(i => i.SessionsOpened.Count)];
        string report = Report([nginx, gnutlsClient, .. fleet.Select(i => i.Process)]);
        Assert.That(sessions, balancing == Balancing.RoundRobin ? Is.EquivalentTo(new[] { 2, 1 }) : Is.EquivalentTo(new[] { 3, 0 }), report);
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task A_cookie_issued_by_one_instance_is_verified_by_another_when_they_share_the_secret([Values] bool shared)
    {
        string directory = NewDirectory("secrets");
        (string cookie, string tickets) = NewSecrets(directory);
        EchoInstance first = await StartInstanceAsync("--cookie-secret-file", cookie, "--ticket-keys-file", tickets);
        string otherCookie = shared ? cookie : NewSecrets(NewDirectory("other")).CookieFile;
        EchoInstance second = await StartInstanceAsync("--cookie-secret-file", otherCookie, "--ticket-keys-file", tickets);
        // proxy_bind keeps the address and port the instances see the same across nginx sessions: a cookie binds them.
        (PeerProcess nginx, NginxConfig config, _) = await StartNginxAsync([first, second], Balancing.RoundRobin, TimeSpan.FromSeconds(1), "127.0.0.2:$remote_port");
        await using var relay = new HoldingRelay(new IPEndPoint(IPAddress.Loopback, config.ListenPort));

        // s_client's first ClientHello opens nginx session 1 on one instance, which answers with a HelloVerifyRequest.
        // The relay holds the ClientHello with the cookie until nginx ends session 1 ("udp timed out"); round-robin
        // then opens session 2 on the other instance.
        Task<string> client = RunSClientAsync(relay.EndPoint.Port);
        await nginx.WaitUntilAsync(_ => relay.HeldCount > 0 || client.IsCompleted, PeerTimeout, "the ClientHello with the cookie at the relay");
        await nginx.WaitUntilAsync(p => p.StandardError.Contains("udp timed out", StringComparison.Ordinal), PeerTimeout, "nginx ending the first UDP session");
        relay.Release();
        await client;

        // nginx's log names the upstream of each UDP session: the first went to the issuer, the second to the other.
        int[] upstreams = NginxLog.SessionUpstreams(nginx.StandardError);
        string report = Report(nginx, first.Process, second.Process);
        Assert.That(upstreams, Has.Length.GreaterThanOrEqualTo(2), report);
        Assert.That(upstreams[1], Is.Not.EqualTo(upstreams[0]), $"round-robin put the two ClientHellos on different instances\n{report}");
        EchoInstance issuer = upstreams[0] == first.Port ? first : second;
        EchoInstance verifier = issuer == first ? second : first;
        FleetStatistics issued = await StopAsync(issuer);
        FleetStatistics verified = await StopAsync(verifier);
        report = $"issuer {issued}\nverifier {verified}\n{Report(nginx, first.Process, second.Process)}";
        Assert.That(issued.CookiesSent, Is.EqualTo(1), report);
        if (shared)
        {
            Assert.That((issued.CookiesVerified, issued.HandshakesCompleted), Is.EqualTo((0L, 0L)), $"the issuer saw nothing more\n{report}");
            Assert.That((verified.CookiesSent, verified.CookiesRejected, verified.HandshakesCompleted), Is.EqualTo((0L, 0L, 1L)), $"the other instance verified the first one's cookie at once\n{report}");
            Assert.That(verified.CookiesVerified, Is.GreaterThanOrEqualTo(1), report);
            Assert.That(verifier.SessionsOpened.Single().Peer, Is.EqualTo($"127.0.0.2:{relay.UpstreamPort.ToString(CultureInfo.InvariantCulture)}"), report);
        }
        else
        {
            // Seen in this test: s_client ignores the second instance's HelloVerifyRequest and retransmits its
            // ClientHello until round-robin takes it back to the issuer; only the refusal is asserted.
            Assert.That(verified.CookiesRejected, Is.GreaterThanOrEqualTo(1), $"with another secret the cookie is refused\n{report}");
            Assert.That(verified.CookiesVerified, Is.Zero, report);
        }
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task A_session_resumes_on_another_instance_only_when_they_share_the_ticket_keys([Values] bool shared)
    {
        (string cookie, string tickets) = NewSecrets(NewDirectory("secrets"));
        EchoInstance first = await StartInstanceAsync("--cookie-secret-file", cookie, "--ticket-keys-file", tickets);
        string otherTickets = shared ? tickets : NewSecrets(NewDirectory("other")).TicketFile;
        EchoInstance second = await StartInstanceAsync("--cookie-secret-file", cookie, "--ticket-keys-file", otherTickets);
        (PeerProcess nginx, NginxConfig config, _) = await StartNginxAsync([first, second], Balancing.RoundRobin, TimeSpan.FromSeconds(30));
        string session = Path.Combine(NewDirectory("session"), "s_client.session");

        Assert.That(await RunSClientAsync(config.ListenPort, "-sess_out", session), Does.Contain("New, TLSv1.2"));
        string resumed = await RunSClientAsync(config.ListenPort, "-sess_in", session);
        await WaitForSessionsAsync([first, second], 2);

        string report = Report(nginx, first.Process, second.Process);
        // Round-robin: the second connection (a new client port, so a new nginx session) reached the other instance.
        Assert.That(first.SessionsOpened, Has.Count.EqualTo(1), report);
        Assert.That(second.SessionsOpened, Has.Count.EqualTo(1), report);
        Assert.That(resumed, Does.Contain(shared ? "Reused, TLSv1.2" : "New, TLSv1.2"), report);
        Assert.That(first.SessionsOpened.Concat(second.SessionsOpened).Count(s => s.Resumed), Is.EqualTo(shared ? 1 : 0), report);
    }

    private static async Task WaitForSessionsAsync(EchoInstance[] fleet, int total) =>
        await fleet[0].Process.WaitUntilAsync(_ => fleet.Sum(i => i.SessionsOpened.Count) >= total, PeerTimeout, $"{total} 'session opened' lines in the fleet's logs");
}
