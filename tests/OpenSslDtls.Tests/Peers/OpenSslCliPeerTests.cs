using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSsl.Interop;
using OpenSslDtls.Tests.Dtls;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// The <c>openssl</c> tool of the OpenSSL under test as the peer, both roles, per version in the matrix
/// (.ci/openssl-versions.sh; docs/openssl-versions.md): s_server's cookie exchange (<c>DTLSv1_listen</c>,
/// rewritten with the record layer in 3.2), exported keys compared byte for byte (RFC 5705), and every
/// datagram our side sends measured at a relay against the MTU, with the tool's own largest datagram
/// reported beside it (OpenSSL 3.0 overshoots; /work PEERS notes).
/// </summary>
[TestFixture]
public sealed partial class OpenSslCliPeerTests : DtlsFixture
{
    private const string ExporterLabel = "EXPERIMENTAL-openssldtls-versions";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private TempDirectory _temp = null!;
    private TestPemFiles _pem = null!;
    private TestCertificate _certificate = null!;

    [SetUp]
    public void WriteIdentity()
    {
        _temp = TempDirectory.Create(TestContext.CurrentContext.Test.MethodName ?? "openssl-cli");
        _certificate = TestPki.CreateSelfSigned(KeyKind.EcdsaP256);
        _pem = _certificate.WritePem(_temp.Path, "server");
    }

    [TearDown]
    public void DeleteIdentity() => _temp.Dispose();

    [TestCase(576)]
    [TestCase(1200)]
    [CancelAfter(60_000)]
    public async Task Our_client_through_s_server_listen_cookie_exchange_exports_the_same_keys_and_fits_the_mtu(int mtu, CancellationToken cancellationToken)
    {
        int port = FreeUdpPort();
        using OpenSslCliProcess server = OpenSslCliProcess.Start(
            "s_server", "-dtls1_2", "-listen", "-accept", port.ToString(CultureInfo.InvariantCulture), "-cert", _pem.CertificateFile, "-key", _pem.PrivateKeyFile,
            "-mtu", (mtu - 28).ToString(CultureInfo.InvariantCulture), "-keymatexport", ExporterLabel, "-keymatexportlen", "32");
        await server.WaitForOutputAsync(o => o.Contains("ACCEPT", StringComparison.Ordinal), Wait, "ACCEPT", cancellationToken);

        using var relay = new UdpRelay(new IPEndPoint(IPAddress.Loopback, port));
        using var context = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, Mtu = mtu, HandshakeTimeout = Wait });
        await using DtlsSession client = await DtlsClient.ConnectAsync(relay.EndPoint, context, cancellationToken);
        string message = $"hello s_server over MTU {mtu}";
        await client.SendAsync(Encoding.ASCII.GetBytes(message + "\n"), cancellationToken); // s_server prints what it receives; the reader is line-based
        await server.WaitForOutputAsync(o => o.Contains(message, StringComparison.Ordinal) && o.Contains("Keying material: ", StringComparison.Ordinal), Wait, "the message and the keying material", cancellationToken);

        byte[] ours = client.ExportKeyingMaterial(ExporterLabel, 32);
        (int ourLargest, int theirLargest) = Largest(relay, clientIsOurs: true);
        TestContext.Out.WriteLine($"{OpenSslLibrary.Info.VersionText}: MTU {mtu}: our largest datagram {ourLargest} (limit {mtu - 28}), s_server's {theirLargest}");
        Assert.Multiple(() =>
        {
            Assert.That(Convert.ToHexString(ours), Is.EqualTo(KeyingMaterial(server.StandardOutput)), server.Describe());
            Assert.That(client.RemoteCertificate?.RawData, Is.EqualTo(_certificate.RawData.ToArray()));
            Assert.That(ourLargest, Is.LessThanOrEqualTo(mtu - 28), "our datagrams fit Mtu minus IPv4 and UDP headers");
            Assert.That(client.NegotiatedProtocol, Is.EqualTo(DtlsProtocolVersion.Dtls12));
        });
    }

    [TestCase(576)]
    [TestCase(1200)]
    [CancelAfter(60_000)]
    public async Task S_client_gets_its_line_echoed_by_our_listener_and_exports_the_same_keys(int mtu, CancellationToken cancellationToken)
    {
        await using DtlsListener listener = DtlsListener.Listen(new DtlsListenerOptions
        {
            LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            ServerOptions = new DtlsServerOptions { CertificateChainFile = _pem.CertificateFile, PrivateKeyFile = _pem.PrivateKeyFile, Mtu = mtu },
        });
        using var relay = new UdpRelay(listener.LocalEndPoint);
        using OpenSslCliProcess client = OpenSslCliProcess.Start(
            "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{relay.EndPoint.Port}", "-mtu", (mtu - 28).ToString(CultureInfo.InvariantCulture),
            "-keymatexport", ExporterLabel, "-keymatexportlen", "32", "-ign_eof");
        await using DtlsSession session = await listener.AcceptAsync(cancellationToken);
        await client.WaitForOutputAsync(o => o.Contains("Keying material: ", StringComparison.Ordinal), Wait, "the keying material", cancellationToken);

        string line = $"echo me over MTU {mtu}";
        client.WriteLine(line);
        byte[] buffer = new byte[4096];
        int n = await session.ReceiveAsync(buffer, cancellationToken);
        await session.SendAsync(buffer.AsMemory(0, n), cancellationToken);
        await client.WaitForOutputAsync(o => o.Split('\n').Any(l => l.TrimEnd() == line), Wait, "the echoed line", cancellationToken);

        byte[] ours = session.ExportKeyingMaterial(ExporterLabel, 32);
        (int ourLargest, int theirLargest) = Largest(relay, clientIsOurs: false);
        TestContext.Out.WriteLine($"{OpenSslLibrary.Info.VersionText}: MTU {mtu}: our largest datagram {ourLargest} (limit {mtu - 28}), s_client's {theirLargest}");
        Assert.Multiple(() =>
        {
            Assert.That(Encoding.ASCII.GetString(buffer, 0, n).TrimEnd('\n'), Is.EqualTo(line));
            Assert.That(Convert.ToHexString(ours), Is.EqualTo(KeyingMaterial(client.StandardOutput)), client.Describe());
            Assert.That(ourLargest, Is.LessThanOrEqualTo(mtu - 28), "our datagrams fit Mtu minus IPv4 and UDP headers");
        });
    }

    /// <summary>The largest datagram each side sent through the relay: (ours, the tool's).</summary>
    private static (int Ours, int Theirs) Largest(UdpRelay relay, bool clientIsOurs)
    {
        int fromClient = relay.Seen.Where(s => s.FromClient).Select(s => s.Length).DefaultIfEmpty().Max();
        int fromServer = relay.Seen.Where(s => !s.FromClient).Select(s => s.Length).DefaultIfEmpty().Max();
        return clientIsOurs ? (fromClient, fromServer) : (fromServer, fromClient);
    }

    private static string KeyingMaterial(string output)
    {
        Match match = KeyingMaterialLine().Match(output);
        Assert.That(match.Success, Is.True, "no 'Keying material: HEX' line in: " + output);
        return match.Groups[1].Value.ToUpperInvariant();
    }

    [GeneratedRegex("Keying material: ([0-9A-Fa-f]+)")]
    private static partial Regex KeyingMaterialLine();

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
