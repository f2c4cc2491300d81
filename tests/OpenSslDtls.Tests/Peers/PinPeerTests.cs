using System.Net;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.Tests;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// Pins against openssl s_server: a matching pin alone authenticates the server whatever names its
/// certificate holds (RFC 8122 style); with TargetHost both the pin and the name must match.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PinPeerTests : CommandLinePeers
{
    private TempDirectory? _files;

    [SetUp]
    public void CreateFiles() => _files = TempDirectory.Create("pin");

    [TearDown]
    public void DeleteFiles() => _files?.Dispose();

    [TestCase("wrong.example")]
    [TestCase("device-7f3a.local")]
    [TestCase("localhost")]
    [CancelAfter(60_000)]
    public async Task A_matching_pin_without_TargetHost_connects_whatever_the_names(string certificateHost)
    {
        (PeerProcess server, IPEndPoint endpoint, string pin) = await StartServerAsync(certificateHost);

        await using DtlsSession session = await DtlsClient.ConnectAsync(endpoint, new DtlsClientOptions { PinnedCertificateSha256 = [pin] });
        await session.SendAsync("pinned\n"u8.ToArray());

        await server.WaitUntilAsync(p => p.StandardOutput.Contains("pinned", StringComparison.Ordinal), Bound, "the message on s_server");
        Assert.That(session.RemoteCertificate?.Subject, Is.EqualTo($"CN={certificateHost}"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_pin_with_TargetHost_checks_both()
    {
        (PeerProcess server, IPEndPoint endpoint, string pin) = await StartServerAsync("wrong.example");

        DtlsAuthenticationException wrongName = Assert.ThrowsAsync<DtlsAuthenticationException>(
            () => DtlsClient.ConnectAsync(endpoint, new DtlsClientOptions { PinnedCertificateSha256 = [pin], TargetHost = "localhost" }))!;
        Assert.That(wrongName.Failure, Is.EqualTo(DtlsCertificateFailure.Name), server.Report());

        await using DtlsSession session = await DtlsClient.ConnectAsync(endpoint, new DtlsClientOptions { PinnedCertificateSha256 = [pin], TargetHost = "wrong.example" });
        Assert.That(session.IsAuthenticated, Is.True);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_wrong_pin_is_refused_with_or_without_TargetHost()
    {
        (PeerProcess server, IPEndPoint endpoint, _) = await StartServerAsync("localhost");
        string other = Convert.ToHexString(SHA256.HashData(TestPki.CreateSelfSigned().RawData.Span));

        foreach (string? host in new[] { null, "localhost" })
        {
            DtlsAuthenticationException refused = Assert.ThrowsAsync<DtlsAuthenticationException>(
                () => DtlsClient.ConnectAsync(endpoint, new DtlsClientOptions { PinnedCertificateSha256 = [other], TargetHost = host }))!;
            Assert.That(refused.Failure, Is.EqualTo(DtlsCertificateFailure.Pin), server.Report());
        }

        // The contradiction that let a wrong pin through before (the pin silently ignored) now fails at creation.
        Assert.That(
            () => new DtlsContext(new DtlsClientOptions { PinnedCertificateSha256 = [other], InsecureSkipCertificateValidation = true }),
            Throws.ArgumentException.With.Message.Contains(nameof(DtlsOptions.InsecureSkipCertificateValidation)).And.Message.Contains(nameof(DtlsOptions.PinnedCertificateSha256)));
    }

    private async Task<(PeerProcess Server, IPEndPoint EndPoint, string Pin)> StartServerAsync(string certificateHost)
    {
        TestCertificate identity = TestPki.CreateSelfSigned(host: certificateHost);
        TestPemFiles pem = identity.WritePem(_files!.Path, certificateHost);
        (PeerProcess server, IPEndPoint endpoint) = await StartOpenSslServerAsync("-cert", pem.CertificateFile, "-key", pem.PrivateKeyFile);
        return (server, endpoint, Convert.ToHexString(SHA256.HashData(identity.RawData.Span)));
    }
}
