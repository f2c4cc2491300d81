using System.Net.Sockets;
using NUnit.Framework;
using OpenSsl.Interop;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Interop;

/// <summary>
/// What goes wrong says why: each failure of the three steps, and of loading OpenSSL, surfaces with the text
/// OpenSSL put in the thread's error queue (docs/architecture.md, errors).
/// </summary>
[TestFixture]
public sealed class FailureTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(15);

    private TempDirectory _temp = null!;

    /// <summary>Server certificates a verifying client must refuse.</summary>
    public enum BadServerCertificate
    {
        /// <summary>Signed by a CA the client does not trust.</summary>
        SignedByAnotherCa,

        /// <summary>Signed by the trusted CA, but expired yesterday.</summary>
        Expired,

        /// <summary>Signed by the trusted CA, for another host name.</summary>
        WrongHost,
    }

    [SetUp]
    public void CreateDirectory() => _temp = TempDirectory.Create(TestContext.CurrentContext.Test.MethodName ?? "failure");

    [TearDown]
    public void DeleteDirectory() => _temp.Dispose();

    [Test]
    public void A_private_key_that_does_not_match_the_certificate_is_refused_with_the_queue_text()
    {
        TestCertificate certificate = TestPki.CreateSelfSigned(KeyKind.EcdsaP256);
        TestCertificate other = TestPki.CreateSelfSigned(KeyKind.EcdsaP256);
        using SafeSslContextHandle context = RawContexts.NewDtlsContext();
        using SafeX509Handle x509 = certificate.ToOpenSslX509();
        using SafeEvpPKeyHandle wrongKey = other.ToOpenSslPrivateKey();
        ErrorQueue.Clear();
        Assert.That(LibSsl.SSL_CTX_use_certificate(context, x509), Is.EqualTo(1));

        // OpenSSL 3 compares a key of the certificate's type with the certificate as soon as it is set
        // (ssl_set_pkey), so the mismatch is reported by SSL_CTX_use_PrivateKey and the key is not kept;
        // SSL_CTX_check_private_key then finds no key for the certificate.
        int used = LibSsl.SSL_CTX_use_PrivateKey(context, wrongKey);
        OpenSslException mismatch = ErrorQueue.ToException("SSL_CTX_use_PrivateKey");
        int checkedKey = LibSsl.SSL_CTX_check_private_key(context);
        OpenSslException check = ErrorQueue.ToException("SSL_CTX_check_private_key");

        Assert.Multiple(() =>
        {
            Assert.That(used, Is.Zero);
            Assert.That(mismatch.Errors.Select(e => e.Reason), Has.Member("key values mismatch"));
            Assert.That(mismatch.Message, Does.Contain("key values mismatch").And.Contain("SSL_CTX_use_PrivateKey"));
            Assert.That(checkedKey, Is.Zero);
            Assert.That(check.Message, Does.Contain("no private key assigned"));
        });
    }

    [Test]
    public void A_key_file_that_does_not_match_the_certificate_file_fails_to_load_with_the_queue_text()
    {
        TestPemFiles server = TestPki.CreateSelfSigned(KeyKind.EcdsaP256).WritePem(_temp.Path, "server");
        TestPemFiles other = TestPki.CreateSelfSigned(KeyKind.EcdsaP256).WritePem(_temp.Path, "other");
        using SafeSslContextHandle context = RawContexts.NewDtlsContext();

        OpenSslException? thrown = Assert.Throws<OpenSslException>(
            () => TestPki.UseIdentityFiles(context, server with { PrivateKeyFile = other.PrivateKeyFile }));

        Assert.That(thrown!.Message, Does.Contain("key values mismatch").And.Contain(other.PrivateKeyFile));
    }

    [Test]
    public void A_key_of_another_type_than_the_certificate_is_caught_by_SSL_CTX_check_private_key()
    {
        // An RSA key next to an ECDSA certificate lands in another slot of the context without complaint;
        // only SSL_CTX_check_private_key notices that the certificate in use has no key.
        TestCertificate certificate = TestPki.CreateSelfSigned(KeyKind.EcdsaP256);
        TestCertificate rsa = TestPki.CreateSelfSigned(KeyKind.Rsa2048);
        using SafeSslContextHandle context = RawContexts.NewDtlsContext();
        using SafeX509Handle x509 = certificate.ToOpenSslX509();
        using SafeEvpPKeyHandle key = rsa.ToOpenSslPrivateKey();
        ErrorQueue.Clear();
        Assert.That(LibSsl.SSL_CTX_use_certificate(context, x509), Is.EqualTo(1));
        Assert.That(LibSsl.SSL_CTX_use_PrivateKey(context, key), Is.EqualTo(1));

        Assert.That(LibSsl.SSL_CTX_check_private_key(context), Is.Zero);
        Assert.That(ErrorQueue.ToException("SSL_CTX_check_private_key").Message, Does.Contain("SSL_CTX_check_private_key").And.Contain("no certificate assigned"));
    }

    [Test]
    public void A_certificate_file_that_does_not_exist_fails_with_its_path_in_the_message()
    {
        string missing = Path.Combine(_temp.Path, "missing", "server-chain.pem");
        using SafeSslContextHandle context = RawContexts.NewDtlsContext();
        ErrorQueue.Clear();

        int result = LibSsl.SSL_CTX_use_certificate_chain_file(context, missing);
        OpenSslException error = ErrorQueue.ToException("SSL_CTX_use_certificate_chain_file");

        // fopen's failure carries the path as the error's data ("calling fopen(<path>, r)").
        Assert.Multiple(() =>
        {
            Assert.That(result, Is.Zero);
            Assert.That(error.Errors.Select(e => e.Data), Has.Some.Contains(missing));
            Assert.That(error.Message, Does.Contain(missing));
        });
    }

    [TestCase(BadServerCertificate.SignedByAnotherCa, LibCrypto.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)]
    [TestCase(BadServerCertificate.Expired, LibCrypto.X509_V_ERR_CERT_HAS_EXPIRED)]
    [TestCase(BadServerCertificate.WrongHost, LibCrypto.X509_V_ERR_HOSTNAME_MISMATCH)]
    public void A_verifying_client_refuses_the_server_and_says_why(BadServerCertificate kind, int expectedVerifyResult)
    {
        TestCertificate trustedCa = TestPki.CreateCa("OpenSslDtls Trusted Test CA");
        TestCertificate serverCertificate = kind switch
        {
            BadServerCertificate.SignedByAnotherCa => TestPki.CreateCa("OpenSslDtls Unrelated Test CA").Issue(),
            BadServerCertificate.Expired => trustedCa.IssueExpired(),
            BadServerCertificate.WrongHost => trustedCa.IssueForHost("wrong-host.example"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        using SafeSslContextHandle serverContext = RawContexts.Server(serverCertificate);
        using SafeSslContextHandle clientContext = RawContexts.Client(trustedCa);
        (Socket serverSocket, Socket clientSocket) = LoopbackUdp.ConnectedPair();
        using (serverSocket)
        using (clientSocket)
        {
            using var server = new RawDtlsPeer("server", serverContext, serverSocket, isServer: true);
            using var client = new RawDtlsPeer("client", clientContext, clientSocket, isServer: false);
            RawContexts.ExpectHost(client, TestPki.DefaultHost);

            new DtlsPump(Budget, relay: null, server, client).Handshake();

            long verifyResult = LibSsl.SSL_get_verify_result(client.Ssl);
            TestContext.Out.WriteLine($"{client.Failure?.Message} / verify result {verifyResult}: {LibCrypto.X509_verify_cert_error_string(verifyResult)}");
            Assert.Multiple(() =>
            {
                Assert.That(client.HandshakeDone, Is.False);
                Assert.That(client.Failure, Is.Not.Null);
                Assert.That(client.Failure?.Message, Does.Contain("certificate verify failed"));
                Assert.That(verifyResult, Is.Not.EqualTo(LibCrypto.X509_V_OK));
                Assert.That(verifyResult, Is.EqualTo(expectedVerifyResult), LibCrypto.X509_verify_cert_error_string(verifyResult));
            });
        }
    }

    [Test]
    public void A_library_directory_without_OpenSSL_gives_PlatformNotSupportedException_naming_what_was_probed()
    {
        const string directory = "/nonexistent/dir";

        PlatformNotSupportedException failure = LoadInFreshCopyOfInterop(FreshInterop.Directory(directory));

        Assert.That(failure.Message, Does.Contain(directory)
            .And.Contain(Path.Combine(directory, ExpectedLibSslFileName))
            .And.Contain(OpenSslLibrary.DirectoryVariable));
    }

    [Test]
    [NonParallelizable] // sets a process-wide environment variable
    public void The_environment_variable_is_honoured_and_named_when_it_points_nowhere()
    {
        const string directory = "/nonexistent/env-dir";
        string? saved = Environment.GetEnvironmentVariable(OpenSslLibrary.DirectoryVariable);
        try
        {
            Environment.SetEnvironmentVariable(OpenSslLibrary.DirectoryVariable, directory);

            PlatformNotSupportedException failure = LoadInFreshCopyOfInterop(setUp: null);

            Assert.That(failure.Message, Does.Contain(Path.Combine(directory, ExpectedLibSslFileName)));
        }
        finally
        {
            Environment.SetEnvironmentVariable(OpenSslLibrary.DirectoryVariable, saved);
        }
    }

    [Test]
    public void The_library_directory_cannot_change_once_OpenSSL_is_loaded()
    {
        OpenSslLibrary.EnsureLoaded();

        Assert.That(
            () => OpenSslLibrary.SetLibraryDirectory("/somewhere/else"),
            Throws.InvalidOperationException.With.Message.Contains("already loaded").And.Message.Contains(OpenSslLibrary.LibSslName));
    }

    // The newest major is probed first (OpenSslLibrary's remarks), so it is the first name in the message.
    private static string ExpectedLibSslFileName => OpenSslLibrary.CandidateFileNames[0].LibSsl;

    private static PlatformNotSupportedException LoadInFreshCopyOfInterop(Action<Type>? setUp) => FreshInterop.LoadExpectingFailure(setUp);
}
