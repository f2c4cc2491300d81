using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>How the client judges the server's certificate: CA trust, names, expiry, the callback, pins.</summary>
public sealed class CertificateValidationTests : DtlsFixture
{
    private static readonly TimeSpan FailureTimeout = TimeSpan.FromSeconds(10);

    private static DtlsContext ServerContext(X509Certificate2 certificate) =>
        new(new DtlsServerOptions { Certificate = certificate, HandshakeTimeout = FailureTimeout });

    [TestCase(true)]
    [TestCase(false)]
    [CancelAfter(20_000)]
    public async Task Certificate_issued_by_a_trusted_ca_is_accepted(bool viaCaFile, CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = ServerContext(DtlsTestCertificates.Server);
        using var clientContext = new DtlsContext(viaCaFile
            ? new DtlsClientOptions { CaFile = DtlsTestCertificates.CaFile, TargetHost = DtlsTestCertificates.Host }
            : new DtlsClientOptions { TrustedCertificates = [DtlsTestCertificates.Ca], TargetHost = DtlsTestCertificates.Host });
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);

        Assert.That(pair.Client.RemoteCertificate?.Thumbprint, Is.EqualTo(DtlsTestCertificates.Server.Thumbprint));
        byte[] payload = RandomNumberGenerator.GetBytes(32);
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Without_TargetHost_the_server_address_is_checked(CancellationToken cancellationToken)
    {
        // The server certificate names 127.0.0.1 too, and the client defaults to the address it connected to.
        using DtlsContext serverContext = ServerContext(DtlsTestCertificates.Server);
        using var clientContext = new DtlsContext(new DtlsClientOptions { CaFile = DtlsTestCertificates.CaFile });
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);
        Assert.That(pair.Client.IsAuthenticated, Is.True);
    }

    private static IEnumerable<TestCaseData> Rejections()
    {
        yield return new TestCaseData(nameof(DtlsTestCertificates.UntrustedServer), DtlsTestCertificates.Host, DtlsCertificateFailure.Chain, "issuer certificate")
            .SetName("Unknown_ca_is_rejected_as_Chain");
        yield return new TestCaseData(nameof(DtlsTestCertificates.WrongHostServer), DtlsTestCertificates.Host, DtlsCertificateFailure.Name, "'localhost'")
            .SetName("Certificate_for_another_host_is_rejected_as_Name");
        yield return new TestCaseData(nameof(DtlsTestCertificates.Server), "elsewhere.example", DtlsCertificateFailure.Name, "'elsewhere.example'")
            .SetName("TargetHost_not_in_the_certificate_is_rejected_as_Name");
        yield return new TestCaseData(nameof(DtlsTestCertificates.ExpiredServer), DtlsTestCertificates.Host, DtlsCertificateFailure.Expired, "expired")
            .SetName("Expired_certificate_is_rejected_as_Expired");
    }

    private static X509Certificate2 Named(string name) => name switch
    {
        nameof(DtlsTestCertificates.UntrustedServer) => DtlsTestCertificates.UntrustedServer,
        nameof(DtlsTestCertificates.WrongHostServer) => DtlsTestCertificates.WrongHostServer,
        nameof(DtlsTestCertificates.ExpiredServer) => DtlsTestCertificates.ExpiredServer,
        _ => DtlsTestCertificates.Server,
    };

    [TestCaseSource(nameof(Rejections))]
    [CancelAfter(20_000)]
    public async Task Rejected_certificate_says_why(string serverCertificate, string targetHost, DtlsCertificateFailure expected, string reason, CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = ServerContext(Named(serverCertificate));
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            CaFile = DtlsTestCertificates.CaFile,
            TargetHost = targetHost,
            HandshakeTimeout = FailureTimeout,
        });
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext);
        HandshakeOutcome outcome = await pair.HandshakeExpectingFailureAsync(cancellationToken);

        Assert.That(outcome.Client, Is.InstanceOf<DtlsAuthenticationException>());
        var client = (DtlsAuthenticationException)outcome.Client!;
        Assert.Multiple(() =>
        {
            Assert.That(client.Failure, Is.EqualTo(expected));
            Assert.That(client.Message, Does.Contain($"({expected})").And.Contain(reason));
            Assert.That(client.Detail, Does.Contain(reason));
            Assert.That(client.Alert, Is.Not.Null.And.Property(nameof(DtlsAlert.Sent)).True, "the client told the server with an alert");
            // The server learns of it from the alert: the peer rejected its certificate.
            Assert.That(outcome.Server, Is.InstanceOf<DtlsAuthenticationException>());
            Assert.That(((DtlsAuthenticationException?)outcome.Server)?.Failure, Is.EqualTo(DtlsCertificateFailure.RejectedByPeer));
            Assert.That(outcome.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
            Assert.That(pair.Client.IsAuthenticated, Is.False);
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Callback_can_accept_a_certificate_that_failed_the_chain_check(CancellationToken cancellationToken)
    {
        var seen = new List<(object Sender, string? Thumbprint, SslPolicyErrors Errors, int ChainLength)>();
        using DtlsContext serverContext = ServerContext(DtlsTestCertificates.UntrustedServer);
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            CaFile = DtlsTestCertificates.CaFile,
            TargetHost = DtlsTestCertificates.Host,
            RemoteCertificateValidation = (sender, certificate, chain, errors) =>
            {
                string? thumbprint = (certificate as X509Certificate2)?.Thumbprint;
                seen.Add((sender, thumbprint, errors, chain?.ChainElements.Count ?? 0));

                // A realistic policy: this one known certificate may have an untrusted issuer.
                return errors is SslPolicyErrors.None or SslPolicyErrors.RemoteCertificateChainErrors
                    && thumbprint == DtlsTestCertificates.UntrustedServer.Thumbprint;
            },
        });
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);

        Assert.That(seen, Has.Count.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(seen[0].Sender, Is.SameAs(pair.Client));
            Assert.That(seen[0].Thumbprint, Is.EqualTo(DtlsTestCertificates.UntrustedServer.Thumbprint));
            Assert.That(seen[0].Errors, Is.EqualTo(SslPolicyErrors.RemoteCertificateChainErrors), "only the chain failed; the name matched");
            Assert.That(seen[0].ChainLength, Is.GreaterThanOrEqualTo(1));
            Assert.That(pair.Client.RemoteCertificate?.Thumbprint, Is.EqualTo(DtlsTestCertificates.UntrustedServer.Thumbprint));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Callback_sees_a_name_mismatch_as_a_policy_error(CancellationToken cancellationToken)
    {
        SslPolicyErrors? seen = null;
        using DtlsContext serverContext = ServerContext(DtlsTestCertificates.WrongHostServer);
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.Ca],
            TargetHost = DtlsTestCertificates.Host,
            RemoteCertificateValidation = (_, certificate, _, errors) =>
            {
                seen = errors;
                return certificate?.Subject == "CN=elsewhere.example";
            },
        });
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);
        Assert.That(seen, Is.EqualTo(SslPolicyErrors.RemoteCertificateNameMismatch));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Callback_can_reject_a_certificate_that_passed(CancellationToken cancellationToken)
    {
        SslPolicyErrors? seen = null;
        using DtlsContext serverContext = ServerContext(DtlsTestCertificates.Server);
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.Ca],
            TargetHost = DtlsTestCertificates.Host,
            HandshakeTimeout = FailureTimeout,
            RemoteCertificateValidation = (_, _, _, errors) =>
            {
                seen = errors;
                return false;
            },
        });
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext);
        HandshakeOutcome outcome = await pair.HandshakeExpectingFailureAsync(cancellationToken);

        Assert.That(outcome.Client, Is.InstanceOf<DtlsAuthenticationException>());
        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(SslPolicyErrors.None));
            Assert.That(((DtlsAuthenticationException)outcome.Client!).Failure, Is.EqualTo(DtlsCertificateFailure.Callback));
            Assert.That(outcome.Client!.Message, Does.Contain("callback"));
            Assert.That(outcome.Server, Is.InstanceOf<DtlsException>());
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Callback_that_throws_rejects_with_Callback(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = ServerContext(DtlsTestCertificates.Server);
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.Ca],
            TargetHost = DtlsTestCertificates.Host,
            HandshakeTimeout = FailureTimeout,
            RemoteCertificateValidation = (_, _, _, _) => throw new InvalidOperationException("policy store offline"),
        });
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext);
        HandshakeOutcome outcome = await pair.HandshakeExpectingFailureAsync(cancellationToken);

        Assert.That(outcome.Client, Is.InstanceOf<DtlsAuthenticationException>());
        Assert.Multiple(() =>
        {
            Assert.That(((DtlsAuthenticationException)outcome.Client!).Failure, Is.EqualTo(DtlsCertificateFailure.Callback));
            Assert.That(outcome.Client!.Message, Does.Contain("policy store offline"));
            Assert.That(outcome.Server, Is.InstanceOf<DtlsException>());
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Matching_pin_accepts_a_self_signed_certificate_without_trust(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = ServerContext(DtlsTestCertificates.EcdsaSelfSigned);
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            UseSystemTrustStore = false,
            TargetHost = DtlsTestCertificates.Host,
            PinnedCertificateSha256 = [DtlsTestCertificates.Sha256Fingerprint(DtlsTestCertificates.RsaSelfSigned), DtlsTestCertificates.Sha256Fingerprint(DtlsTestCertificates.EcdsaSelfSigned).ToLowerInvariant()],
        });
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);

        Assert.That(pair.Client.RemoteCertificate?.Thumbprint, Is.EqualTo(DtlsTestCertificates.EcdsaSelfSigned.Thumbprint));
        byte[] payload = RandomNumberGenerator.GetBytes(32);
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Wrong_pin_rejects_even_a_trusted_certificate(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = ServerContext(DtlsTestCertificates.Server);
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.Ca],
            TargetHost = DtlsTestCertificates.Host,
            HandshakeTimeout = FailureTimeout,
            PinnedCertificateSha256 = [DtlsTestCertificates.Sha256Fingerprint(DtlsTestCertificates.EcdsaSelfSigned)],
        });
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext);
        HandshakeOutcome outcome = await pair.HandshakeExpectingFailureAsync(cancellationToken);

        Assert.That(outcome.Client, Is.InstanceOf<DtlsAuthenticationException>());
        Assert.Multiple(() =>
        {
            Assert.That(((DtlsAuthenticationException)outcome.Client!).Failure, Is.EqualTo(DtlsCertificateFailure.Pin));
            Assert.That(outcome.Client!.Message, Does.Contain("pinned"));
            Assert.That(outcome.Server, Is.InstanceOf<DtlsException>());
            Assert.That(outcome.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Server_verifies_client_certificates_against_its_CaFile(CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            Certificate = DtlsTestCertificates.Server,
            RequireClientCertificate = true,
            CaFile = DtlsTestCertificates.CaFile,
            HandshakeTimeout = FailureTimeout,
        });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            Certificate = DtlsTestCertificates.EcdsaSelfSigned, // not issued by the server's CA
            CaFile = DtlsTestCertificates.CaFile,
            TargetHost = DtlsTestCertificates.Host,
            HandshakeTimeout = FailureTimeout,
        });
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext);
        HandshakeOutcome outcome = await pair.HandshakeExpectingFailureAsync(cancellationToken);

        Assert.That(outcome.Server, Is.InstanceOf<DtlsAuthenticationException>());
        Assert.Multiple(() =>
        {
            Assert.That(((DtlsAuthenticationException)outcome.Server!).Failure, Is.EqualTo(DtlsCertificateFailure.Chain));
            Assert.That(outcome.Client, Is.InstanceOf<DtlsAuthenticationException>());
            Assert.That(((DtlsAuthenticationException?)outcome.Client)?.Failure, Is.EqualTo(DtlsCertificateFailure.RejectedByPeer));
        });
    }
}
