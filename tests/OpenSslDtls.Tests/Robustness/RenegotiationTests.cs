using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Robustness;

/// <summary>
/// Renegotiation asked for by a peer nobody here wrote (openssl s_client's <c>R</c> command, s_server's
/// <c>r</c>), against our server and our client. Our contexts set SSL_OP_NO_RENEGOTIATION (secure
/// defaults: DTLS applications never need renegotiation, DTLS 1.3 removed it, and RFC 5746's fix only
/// protects those that allow it), so our side answers with a no_renegotiation warning alert
/// (RFC 5246 §7.2.2: the requester then decides whether to go on). OpenSSL 3.0 as the requester always
/// decides to end the connection: it answers the warning with a fatal handshake_failure ("no
/// renegotiation", rec_layer_d1.c). So the asserted outcome is: our side refuses (the warning is seen on
/// the peer's side of the wire), never renegotiates, and its session ends with a typed DtlsException
/// naming the peer's fatal alert; no hang, no other exception.
/// </summary>
[TestFixture]
public sealed class RenegotiationTests : DtlsFixture
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    // How s_client/s_server -msg print a received DTLS alert record: level 1 (warning), description 100 (no_renegotiation).
    private const string ReceivedNoRenegotiationWarning = "<<< Not TLS data or unknown version (version=65277, content_type=21) [length 0002]\n    01 64";

    // And the fatal handshake_failure (40) they send back.
    private const string SentFatalHandshakeFailure = ">>> Not TLS data or unknown version (version=65277, content_type=21) [length 0002]\n    02 28";

    [Test]
    [CancelAfter(60_000)]
    public async Task Our_server_refuses_a_client_initiated_renegotiation(CancellationToken cancellationToken)
    {
        using var context = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });
        using Socket socket = LoopbackPair.Bound();
        int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        using var client = OpenSslCommand.Start("s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-msg", "-mtu", "1200");

        // The README's way: peek at the ClientHello, connect the socket to its sender.
        SocketReceiveFromResult first = await socket.ReceiveFromAsync(new byte[65536], SocketFlags.Peek, new IPEndPoint(IPAddress.Any, 0), cancellationToken);
        socket.Connect(first.RemoteEndPoint);
        await using var server = new DtlsSession(context, socket);
        await server.AcceptAsync(cancellationToken);
        byte[] buffer = new byte[2048];
        client.WriteLine("before");
        Assert.That(Encoding.ASCII.GetString(buffer, 0, await ReceiveAsync(server, buffer, client, cancellationToken)), Is.EqualTo("before\n"), client.Output);
        await server.SendAsync(Encoding.ASCII.GetBytes("to the client\n"), cancellationToken);
        await client.WaitForAsync("to the client", Wait, cancellationToken);

        client.WriteLine("R");
        await client.WaitForAsync("RENEGOTIATING", Wait, cancellationToken);
        client.WriteLine("after"); // s_client sends its renegotiating ClientHello with its next write
        await client.WaitForAsync(ReceivedNoRenegotiationWarning, Wait, cancellationToken);
        await AssertEndsWithPeersFatalAlertAsync(server, buffer, client, cancellationToken);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Our_client_refuses_a_server_initiated_renegotiation(CancellationToken cancellationToken)
    {
        // Files of our own: DtlsTestCertificates' directory belongs to the Dtls namespace's fixtures and is
        // deleted once they have run.
        using TempDirectory files = TempDirectory.Create("renegotiation");
        string certificateFile = files.File("server.crt"), keyFile = files.File("server.key");
        File.WriteAllText(certificateFile, DtlsTestCertificates.EcdsaSelfSigned.ExportCertificatePem());
        File.WriteAllText(keyFile, DtlsTestCertificates.ExportPrivateKeyPem(DtlsTestCertificates.EcdsaSelfSigned));
        int port = OpenSslCommand.FreeUdpPort();
        using var serverProcess = OpenSslCommand.Start("s_server", "-dtls1_2", "-accept", $"127.0.0.1:{port}", "-cert", certificateFile, "-key", keyFile, "-msg", "-mtu", "1200");
        await serverProcess.WaitForAsync("ACCEPT", Wait, cancellationToken);
        using var context = new DtlsContext(new DtlsClientOptions { TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned], TargetHost = DtlsTestCertificates.Host });
        await using DtlsSession client = await DtlsClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), context, cancellationToken);
        byte[] buffer = new byte[2048];
        await client.SendAsync(Encoding.ASCII.GetBytes("before\n"), cancellationToken);
        await serverProcess.WaitForAsync("before", Wait, cancellationToken);
        serverProcess.WriteLine("to the client");
        Assert.That(Encoding.ASCII.GetString(buffer, 0, await ReceiveAsync(client, buffer, serverProcess, cancellationToken)), Is.EqualTo("to the client\n"), serverProcess.Output);

        serverProcess.WriteLine("r"); // SSL_renegotiate + SSL_do_handshake: a HelloRequest, which our receive loop handles
        await serverProcess.WaitForAsync(ReceivedNoRenegotiationWarning, Wait, cancellationToken);
        await AssertEndsWithPeersFatalAlertAsync(client, buffer, serverProcess, cancellationToken);
    }

    private static async Task AssertEndsWithPeersFatalAlertAsync(DtlsSession session, byte[] buffer, OpenSslCommand peer, CancellationToken cancellationToken)
    {
        await peer.WaitForAsync(SentFatalHandshakeFailure, Wait, cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Wait);
        Exception? end = await LoopbackPair.CaptureAsync(async () => await session.ReceiveAsync(buffer, timeout.Token));
        TestContext.Out.WriteLine($"our session ended with: {end?.GetType().Name}: {end?.Message}");
        Assert.Multiple(() =>
        {
            Assert.That(end, Is.InstanceOf<DtlsException>(), $"a typed end; openssl's output:\n{peer.Output}");
            Assert.That((end as DtlsException)?.Alert, Is.Not.Null.And.Property(nameof(DtlsAlert.Description)).EqualTo(40).And.Property(nameof(DtlsAlert.Sent)).False,
                "the peer's fatal handshake_failure is named");
        });
    }

    private static async Task<int> ReceiveAsync(DtlsSession session, byte[] buffer, OpenSslCommand peer, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Wait);
        try
        {
            return await session.ReceiveAsync(buffer, timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or DtlsException)
        {
            Assert.Fail($"receive failed: {e}\nopenssl's output:\n{peer.Output}");
            throw;
        }
    }
}
