using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>A DtlsContext validates every setting when it is made, and names the setting (and path) that is wrong.</summary>
public sealed class ContextValidationTests : DtlsFixture
{
    private static string Missing(string name) => Path.Combine(DtlsTestCertificates.Directory, "does-not-exist", name);

    private static void AssertNamesSetting(TestDelegate create, string setting, params string[] mentions)
    {
        long before = DtlsDiagnostics.LiveNativeHandles;
        ArgumentException? e = Assert.Throws(Is.InstanceOf<ArgumentException>(), create) as ArgumentException;
        Assert.That(e, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(e!.ParamName, Is.EqualTo(setting));
            Assert.That(e.Message, Does.StartWith(setting));
            foreach (string mention in mentions)
            {
                Assert.That(e.Message, Does.Contain(mention));
            }

            Assert.That(DtlsDiagnostics.LiveNativeHandles, Is.EqualTo(before), "a context that failed to build frees what it made");
        });
    }

    [Test]
    public void Missing_certificate_file_names_CertificateChainFile_and_the_path()
    {
        (_, string key) = DtlsTestCertificates.WritePem(DtlsTestCertificates.Server);
        string path = Missing("server.pem");
        AssertNamesSetting(() => new DtlsContext(new DtlsServerOptions { CertificateChainFile = path, PrivateKeyFile = key }).Dispose(), nameof(DtlsOptions.CertificateChainFile), path);
    }

    [Test]
    public void Missing_key_file_names_PrivateKeyFile_and_the_path()
    {
        (string certificate, _) = DtlsTestCertificates.WritePem(DtlsTestCertificates.Server);
        string path = Missing("server.key");
        AssertNamesSetting(() => new DtlsContext(new DtlsServerOptions { CertificateChainFile = certificate, PrivateKeyFile = path }).Dispose(), nameof(DtlsOptions.PrivateKeyFile), path);
    }

    [Test]
    public void Certificate_file_that_is_not_pem_names_CertificateChainFile()
    {
        (_, string key) = DtlsTestCertificates.WritePem(DtlsTestCertificates.Server);
        string garbage = DtlsTestCertificates.WriteFile("garbage.pem", "this is not a certificate\n");
        AssertNamesSetting(() => new DtlsContext(new DtlsServerOptions { CertificateChainFile = garbage, PrivateKeyFile = key }).Dispose(), nameof(DtlsOptions.CertificateChainFile), garbage);
    }

    [Test]
    public void Key_file_that_is_not_a_key_names_PrivateKeyFile()
    {
        (string certificate, _) = DtlsTestCertificates.WritePem(DtlsTestCertificates.Server);
        // A PEM frame around bytes that are no key (the label is split so that no scanner mistakes it for one).
        const string Label = "PRIVATE" + " KEY";
        string garbage = DtlsTestCertificates.WriteFile("garbage.key", $"-----BEGIN {Label}-----\nAAAA\n-----END {Label}-----\n");
        AssertNamesSetting(() => new DtlsContext(new DtlsServerOptions { CertificateChainFile = certificate, PrivateKeyFile = garbage }).Dispose(), nameof(DtlsOptions.PrivateKeyFile), garbage);
    }

    [Test]
    public void Key_that_does_not_match_the_certificate_names_PrivateKeyFile_and_both_paths()
    {
        (string certificate, _) = DtlsTestCertificates.WritePem(DtlsTestCertificates.Server);
        (_, string otherKey) = DtlsTestCertificates.WritePem(DtlsTestCertificates.EcdsaSelfSigned);
        AssertNamesSetting(
            () => new DtlsContext(new DtlsServerOptions { CertificateChainFile = certificate, PrivateKeyFile = otherKey }).Dispose(),
            nameof(DtlsOptions.PrivateKeyFile),
            "does not match",
            certificate,
            otherKey);
    }

    [Test]
    public void Matching_pem_files_make_a_working_context()
    {
        (string certificate, string key) = DtlsTestCertificates.WritePem(DtlsTestCertificates.Rsa4096.Leaf, DtlsTestCertificates.Rsa4096.Intermediate);
        using var context = new DtlsContext(new DtlsServerOptions { CertificateChainFile = certificate, PrivateKeyFile = key });
        Assert.That(context.IsServer, Is.True);
    }

    [Test]
    public void Missing_ca_file_names_CaFile_and_the_path()
    {
        string path = Missing("ca.pem");
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { CaFile = path }).Dispose(), nameof(DtlsOptions.CaFile), path);
    }

    [Test]
    public void Unreadable_ca_file_names_CaFile_and_the_path()
    {
        string garbage = DtlsTestCertificates.WriteFile("ca-garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { CaFile = garbage }).Dispose(), nameof(DtlsOptions.CaFile), garbage);
    }

    [Test]
    public void Ca_file_that_is_a_directory_names_CaFile()
    {
        string directory = DtlsTestCertificates.Directory;
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { CaFile = directory }).Dispose(), nameof(DtlsOptions.CaFile), directory);
    }

    [Test]
    public void Unknown_cipher_names_CipherList_and_the_cipher()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { CipherList = "NO-SUCH-CIPHER-SHA999" }).Dispose(), nameof(DtlsOptions.CipherList), "NO-SUCH-CIPHER-SHA999");
    }

    [Test]
    public void Unknown_group_names_Groups()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { Groups = "P-999" }).Dispose(), nameof(DtlsOptions.Groups), "P-999");
    }

    [Test]
    public void Unknown_srtp_profile_names_SrtpProfiles()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { SrtpProfiles = ["SRTP_NOPE"] }).Dispose(), nameof(DtlsOptions.SrtpProfiles), "SRTP_NOPE");
    }

    [Test]
    public void Malformed_pin_names_PinnedCertificateSha256()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { PinnedCertificateSha256 = ["AB:CD"] }).Dispose(), nameof(DtlsOptions.PinnedCertificateSha256), "AB:CD");
    }

    [Test]
    public void Certificate_without_private_key_names_Certificate()
    {
        using var publicOnly = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(DtlsTestCertificates.Server.RawData);
        AssertNamesSetting(() => new DtlsContext(new DtlsServerOptions { Certificate = publicOnly }).Dispose(), nameof(DtlsOptions.Certificate), "private key");
    }

    [Test]
    public void Psk_identity_without_key_names_PskKey()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { PskIdentityText = "device" }).Dispose(), nameof(DtlsClientOptions.PskKey));
    }

    [Test]
    public void Empty_alpn_protocol_names_ApplicationProtocols()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { ApplicationProtocols = [""] }).Dispose(), nameof(DtlsOptions.ApplicationProtocols));
    }

    [TestCase(100)]
    [TestCase(70_000)]
    public void Mtu_out_of_range_names_Mtu(int mtu)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DtlsContext(new DtlsClientOptions { Mtu = mtu }).Dispose());
        Assert.That(e!.ParamName, Is.EqualTo(nameof(DtlsOptions.Mtu)));
    }

    [Test]
    public void Non_positive_HandshakeTimeout_names_HandshakeTimeout()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DtlsContext(new DtlsClientOptions { HandshakeTimeout = TimeSpan.Zero }).Dispose());
        Assert.That(e!.ParamName, Is.EqualTo(nameof(DtlsOptions.HandshakeTimeout)));
    }

    [Test]
    public void Session_over_an_unconnected_socket_is_refused()
    {
        using var context = new DtlsContext(new DtlsClientOptions());
        using System.Net.Sockets.Socket unconnected = LoopbackPair.Bound();
        var e = Assert.Throws<ArgumentException>(() => new DtlsSession(context, unconnected).Dispose());
        Assert.That(e!.Message, Does.Contain("connected"));
    }
}
