using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.Tests;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// An application callback that throws fails the handshake with a documented exception type whose
/// inner exception is the callback's, and the peer (openssl s_client / s_server, nobody's code
/// here) always learns of it from an alert instead of believing it is connected.
/// </summary>
public sealed class CallbackFailurePeerTests : CommandLinePeers
{
    private static readonly byte[] Key = Convert.FromHexString("00112233445566778899aabbccddeeff");

    private sealed class CallbackBroke : Exception
    {
        public CallbackBroke()
            : base("the application's callback broke")
        {
        }
    }

    /// <summary>A server session on a socket connected to the first peer that writes to it (the README's server).</summary>
    private static async Task<Exception?> AcceptOneAsync(Socket socket, DtlsContext context, CancellationToken cancellationToken)
    {
        SocketReceiveFromResult first = await socket.ReceiveFromAsync(new byte[65536], SocketFlags.Peek, new IPEndPoint(IPAddress.Any, 0), cancellationToken);
        socket.Connect(first.RemoteEndPoint);
        await using var session = new DtlsSession(context, socket);
        return await LoopbackPair.CaptureAsync(() => session.AcceptAsync(cancellationToken));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_throwing_server_KeyLog_fails_the_handshake_and_openssl_s_client_gets_an_alert(CancellationToken cancellationToken)
    {
        using var context = new DtlsContext(new DtlsServerOptions
        {
            Certificate = DtlsTestCertificates.EcdsaSelfSigned,
            KeyLog = _ => throw new CallbackBroke(),
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        });
        using Socket socket = LoopbackPair.Bound();
        Task<Exception?> accept = AcceptOneAsync(socket, context, cancellationToken);
        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{((IPEndPoint)socket.LocalEndPoint!).Port}");

        Exception? failure = await accept;
        Assert.That(failure, Is.TypeOf<DtlsException>().And.Message.Contains("KeyLog"));
        Assert.That(failure!.InnerException, Is.TypeOf<CallbackBroke>());
        await client.WaitUntilAsync(p => (p.StandardError + p.StandardOutput).Contains("alert internal error", StringComparison.Ordinal), Bound, "s_client reporting the internal_error alert");
        Assert.That(await client.WaitForExitAsync(Bound), Is.Not.Zero, "s_client's handshake failed: it never believed it was connected");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_throwing_client_KeyLog_fails_the_handshake_and_openssl_s_server_gets_an_alert(CancellationToken cancellationToken)
    {
        (PeerProcess server, IPEndPoint endPoint) = await StartOpenSslServerAsync("-cert", DtlsTestCertificates.WritePem(DtlsTestCertificates.Server).CertificateFile, "-key", DtlsTestCertificates.WritePem(DtlsTestCertificates.Server).KeyFile);
        using var context = new DtlsContext(new DtlsClientOptions
        {
            InsecureSkipCertificateValidation = true,
            KeyLog = _ => throw new CallbackBroke(),
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        });
        Exception? failure = await LoopbackPair.CaptureAsync(async () => await (await DtlsClient.ConnectAsync(endPoint, context, cancellationToken)).DisposeAsync());
        Assert.That(failure, Is.TypeOf<DtlsException>().And.Message.Contains("KeyLog"));
        Assert.That(failure!.InnerException, Is.TypeOf<CallbackBroke>());
        await server.WaitUntilAsync(p => (p.StandardError + p.StandardOutput).Contains("alert internal error", StringComparison.Ordinal), Bound, "s_server reporting the internal_error alert");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_throwing_PskKeyLookup_or_PskKeyLookupAsync_fails_the_handshake_with_its_exception_inside_and_s_client_gets_unknown_psk_identity([Values] bool asynchronous, CancellationToken cancellationToken)
    {
        using var context = new DtlsContext(asynchronous
            ? new DtlsServerOptions
            {
                PskKeyLookupAsync = async (_, _) =>
                {
                    await Task.Yield();
                    throw new CallbackBroke();
                },
                MaximumProtocol = DtlsProtocolVersion.Dtls12, // the asynchronous lookup is DTLS 1.2's
                HandshakeTimeout = TimeSpan.FromSeconds(10),
            }
            : new DtlsServerOptions
            {
                PskKeyLookup = _ => throw new CallbackBroke(),
                HandshakeTimeout = TimeSpan.FromSeconds(10),
            });
        using Socket socket = LoopbackPair.Bound();
        Task<Exception?> accept = AcceptOneAsync(socket, context, cancellationToken);
        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{((IPEndPoint)socket.LocalEndPoint!).Port}", "-psk_identity", "device-1", "-psk", Convert.ToHexString(Key));

        Exception? failure = await accept;
        // The message names the callback: "The PskKeyLookup callback threw" or "The PskKeyLookupAsync callback threw".
        Assert.That(failure, Is.TypeOf<DtlsException>().And.Message.Contains(asynchronous ? "PskKeyLookupAsync" : "PskKeyLookup callback"));
        Assert.That(failure!.InnerException, Is.TypeOf<CallbackBroke>());
        await client.WaitUntilAsync(p => (p.StandardError + p.StandardOutput).Contains("unknown psk identity", StringComparison.Ordinal), Bound, "s_client reporting unknown_psk_identity");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_throwing_RemoteCertificateValidation_is_an_authentication_failure_with_its_exception_inside(CancellationToken cancellationToken)
    {
        (string certificate, string key) = DtlsTestCertificates.WritePem(DtlsTestCertificates.Server);
        (PeerProcess server, IPEndPoint endPoint) = await StartOpenSslServerAsync("-cert", certificate, "-key", key);
        using var context = new DtlsContext(new DtlsClientOptions
        {
            RemoteCertificateValidation = (_, _, _, _) => throw new CallbackBroke(),
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        });
        Exception? failure = await LoopbackPair.CaptureAsync(async () => await (await DtlsClient.ConnectAsync(endPoint, context, cancellationToken)).DisposeAsync());
        Assert.That(failure, Is.TypeOf<DtlsAuthenticationException>());
        Assert.That(((DtlsAuthenticationException)failure!).Failure, Is.EqualTo(DtlsCertificateFailure.Callback));
        Assert.That(failure.InnerException, Is.TypeOf<CallbackBroke>());
        await server.WaitUntilAsync(p => (p.StandardError + p.StandardOutput).Contains("alert", StringComparison.OrdinalIgnoreCase), Bound, "s_server reporting our alert");
    }
}
