using System.Net;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.Tests;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// Sessions exported to bytes and imported in a new context (issue 11 §2, sleepy devices): the
/// equivalent of openssl s_client -sess_out/-sess_in, proven against openssl s_server (which prints
/// "Reused session-id" for a resumed handshake) and with a session file s_client itself wrote.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SessionExportPeerTests : CommandLinePeers
{
    private static DtlsClientOptions ClientOptions() => new()
    {
        TrustedCertificates = [DtlsTestCertificates.Ca],
        TargetHost = "localhost",
        HandshakeTimeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>s_server for two connections, by session ID only (-no_ticket) or by ticket.</summary>
    private async Task<(PeerProcess Server, IPEndPoint EndPoint)> StartServerAsync(bool tickets)
    {
        (string certificate, string key) = DtlsTestCertificates.WritePem(DtlsTestCertificates.Server);
        return await StartOpenSslServerAsync(["-naccept", "2", "-cert", certificate, "-key", key, .. tickets ? Array.Empty<string>() : ["-no_ticket"]]);
    }

    private static async Task ExchangeAsync(DtlsSession session, PeerProcess server, string line, CancellationToken cancellationToken)
    {
        await session.SendAsync(Encoding.ASCII.GetBytes(line + "\n"), cancellationToken);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains(line, StringComparison.Ordinal), Bound, $"s_server printed {line}");
    }

    /// <summary>Both sides say the handshake resumed: our IsResumed and s_server's "Reused session-id"; data flows.</summary>
    private static async Task AssertResumedAsync(DtlsSession resumed, PeerProcess server, string line, CancellationToken cancellationToken)
    {
        await ExchangeAsync(resumed, server, line, cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(resumed.IsResumed, Is.True, "our client resumed");
            Assert.That(server.StandardOutput, Does.Contain("Reused session-id"), $"s_server says it resumed\n{server.Report()}");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task An_exported_session_resumes_from_a_new_context_against_openssl_s_server([Values] bool tickets, CancellationToken cancellationToken)
    {
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(tickets);
        byte[] exported;
        using (var first = new DtlsContext(ClientOptions()))
        {
            await using DtlsSession session = await DtlsClient.ConnectAsync(endPoint, first, cancellationToken);
            Assert.That(session.IsResumed, Is.False);
            await ExchangeAsync(session, server, "full-handshake", cancellationToken);
            exported = session.ExportSession();
            await session.ShutdownAsync(cancellationToken);
        }

        await server.WaitUntilAsync(p => p.StandardOutput.Contains("DONE", StringComparison.Ordinal), Bound, "s_server saw our close_notify (DONE)");

        // "A later process": a new context that never talked to the server, given only the bytes.
        using var second = new DtlsContext(ClientOptions());
        second.ImportSession(exported, endPoint);
        await using DtlsSession resumed = await DtlsClient.ConnectAsync(endPoint, second, cancellationToken);
        await AssertResumedAsync(resumed, server, "resumed-from-bytes", cancellationToken);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_session_file_written_by_openssl_s_client_sess_out_resumes_our_client(CancellationToken cancellationToken)
    {
        (PeerProcess server, IPEndPoint endPoint) = await StartServerAsync(tickets: true);
        string sessionFile = Path.Combine(DtlsTestCertificates.Directory, $"{Guid.NewGuid():N}-s_client.session");
        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{endPoint.Port}", "-servername", "localhost", "-CAfile", DtlsTestCertificates.CaFile, "-sess_out", sessionFile);
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("Cipher is", StringComparison.Ordinal), Bound, "s_client's handshake");
        client.CloseInput();
        await client.WaitForExitAsync(Bound);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("DONE", StringComparison.Ordinal), Bound, "s_server saw s_client leave");

        byte[] pem = File.ReadAllBytes(sessionFile);
        Assert.That(Encoding.ASCII.GetString(pem), Does.StartWith("-----BEGIN SSL SESSION PARAMETERS-----"), "what s_client -sess_out writes");
        using var context = new DtlsContext(ClientOptions());
        context.ImportSession(pem, endPoint);
        await using DtlsSession resumed = await DtlsClient.ConnectAsync(endPoint, context, cancellationToken);
        await AssertResumedAsync(resumed, server, "resumed-from-s_client", cancellationToken);
    }

    [Test]
    public void Bytes_that_are_not_a_session_and_contexts_that_cannot_use_one_are_refused_clearly()
    {
        var endPoint = new IPEndPoint(IPAddress.Loopback, 5684);
        using var client = new DtlsContext(ClientOptions());
        Assert.That(() => client.ImportSession([0x30, 0x03, 0x02, 0x01, 0x01], endPoint), Throws.ArgumentException.With.Property("ParamName").EqualTo("session"));
        Assert.That(() => client.ImportSession(Encoding.ASCII.GetBytes("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), endPoint), Throws.ArgumentException.With.Message.Contains("SSL SESSION PARAMETERS"));

        var noResumptionOptions = ClientOptions();
        using var noResumption = new DtlsContext(new DtlsClientOptions { TrustedCertificates = noResumptionOptions.TrustedCertificates, TargetHost = "localhost", AllowSessionResumption = false });
        Assert.That(() => noResumption.ImportSession([0x30], endPoint), Throws.InvalidOperationException.With.Message.Contains("AllowSessionResumption"));
        using var server = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });
        Assert.That(() => server.ImportSession([0x30], endPoint), Throws.InvalidOperationException);
    }
}
