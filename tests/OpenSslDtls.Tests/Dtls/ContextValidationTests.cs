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

    // ---- One test per rule in src/Dtls/OptionRules.cs (README "Options checked at creation"). ----

    private static readonly byte[] Key = new byte[16];

    [Test]
    public void Server_with_neither_certificate_nor_psk_names_Certificate_and_PskKeyLookup()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsServerOptions()).Dispose(), nameof(DtlsServerOptions.Certificate), nameof(DtlsServerOptions.PskKeyLookup));
    }

    [Test]
    public void Server_with_both_PskKeyLookup_and_PskKeyLookupAsync_names_PskKeyLookupAsync()
    {
        AssertNamesSetting(
            () => new DtlsContext(new DtlsServerOptions { PskKeyLookup = _ => Key, PskKeyLookupAsync = (_, _) => ValueTask.FromResult<ReadOnlyMemory<byte>?>(Key), MaximumProtocol = DtlsProtocolVersion.Dtls12 }).Dispose(),
            nameof(DtlsServerOptions.PskKeyLookupAsync),
            nameof(DtlsServerOptions.PskKeyLookup));
    }

    [TestCase(nameof(DtlsOptions.PinnedCertificateSha256))]
    [TestCase(nameof(DtlsOptions.CaFile))]
    [TestCase(nameof(DtlsOptions.TrustedCertificates))]
    [TestCase(nameof(DtlsOptions.RemoteCertificateValidation))]
    [TestCase(nameof(DtlsOptions.UseSystemTrustStore))]
    public void Insecure_with_a_setting_it_would_ignore_names_both_on_a_client(string ignored)
    {
        (string certificate, _) = DtlsTestCertificates.WritePem(DtlsTestCertificates.Server);
        var options = ignored switch
        {
            nameof(DtlsOptions.PinnedCertificateSha256) => new DtlsClientOptions { InsecureSkipCertificateValidation = true, PinnedCertificateSha256 = [new string('A', 64)] },
            nameof(DtlsOptions.CaFile) => new DtlsClientOptions { InsecureSkipCertificateValidation = true, CaFile = certificate },
            nameof(DtlsOptions.TrustedCertificates) => new DtlsClientOptions { InsecureSkipCertificateValidation = true, TrustedCertificates = [DtlsTestCertificates.Ca] },
            nameof(DtlsOptions.RemoteCertificateValidation) => new DtlsClientOptions { InsecureSkipCertificateValidation = true, RemoteCertificateValidation = (_, _, _, errors) => errors == System.Net.Security.SslPolicyErrors.None },
            _ => new DtlsClientOptions { InsecureSkipCertificateValidation = true, UseSystemTrustStore = true },
        };
        AssertNamesSetting(() => new DtlsContext(options).Dispose(), nameof(DtlsOptions.InsecureSkipCertificateValidation), ignored);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Insecure_server_that_asks_for_client_certificates_names_both(bool require)
    {
        var options = new DtlsServerOptions { Certificate = DtlsTestCertificates.Server, InsecureSkipCertificateValidation = true, RequireClientCertificate = require, RequestClientCertificate = !require };
        AssertNamesSetting(() => new DtlsContext(options).Dispose(), nameof(DtlsOptions.InsecureSkipCertificateValidation),
            require ? nameof(DtlsServerOptions.RequireClientCertificate) : nameof(DtlsServerOptions.RequestClientCertificate));
    }

    [Test]
    public void Legacy_suites_allowed_without_a_cipher_list_names_both()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { InsecureAllowLegacyCipherSuites = true }).Dispose(), nameof(DtlsOptions.InsecureAllowLegacyCipherSuites), nameof(DtlsOptions.CipherList));
    }

    [TestCase("PSK", "RSA-PSK-AES256-GCM-SHA384")]
    [TestCase("HIGH", "more")]
    [TestCase("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA")]
    [TestCase("ECDHE-ECDSA-AES128-GCM-SHA256:AES128-GCM-SHA256", "AES128-GCM-SHA256")]
    [TestCase("DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256")]
    [TestCase("DHE-PSK-AES128-GCM-SHA256", "DHE-PSK-AES128-GCM-SHA256")]
    [TestCase("RSA-PSK-AES128-GCM-SHA256", "RSA-PSK-AES128-GCM-SHA256")]
    [TestCase("eNULL:@SECLEVEL=0", "NULL")]
    public void Cipher_list_enabling_legacy_suites_names_CipherList_and_the_option_that_allows_them(string list, string named)
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { CipherList = list }).Dispose(), nameof(DtlsOptions.CipherList), named, nameof(DtlsOptions.InsecureAllowLegacyCipherSuites));
        Assert.That(() => new DtlsContext(new DtlsClientOptions { CipherList = list, InsecureAllowLegacyCipherSuites = true }).Dispose(), Throws.Nothing);
    }

    [TestCase("ECDHE-ECDSA-AES128-GCM-SHA256")]
    [TestCase("ECDHE-ECDSA-AES128-CCM8:ECDHE-RSA-CHACHA20-POLY1305")]
    [TestCase("PSK-AES128-CCM8")]
    [TestCase("ECDHE-PSK-CHACHA20-POLY1305:PSK-AES256-GCM-SHA384")]
    public void Cipher_lists_of_AEAD_suites_with_ECDHE_or_PSK_are_accepted(string list)
    {
        // A PSK-only list goes with a PSK client (a list the credentials cannot use is refused, below).
        DtlsClientOptions options = list.StartsWith("ECDHE-ECDSA", StringComparison.Ordinal)
            ? new DtlsClientOptions { CipherList = list }
            : new DtlsClientOptions { CipherList = list, PskIdentityText = "device", PskKey = new byte[16] };
        Assert.That(() => new DtlsContext(options).Dispose(), Throws.Nothing);
    }

    [Test]
    public void Psk_identity_as_bytes_and_text_names_PskIdentityText()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { PskIdentity = new byte[] { 1 }, PskIdentityText = "a", PskKey = Key }).Dispose(), nameof(DtlsClientOptions.PskIdentityText), nameof(DtlsClientOptions.PskIdentity));
    }

    [Test]
    public void Psk_key_without_identity_names_PskKey()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { PskKey = Key }).Dispose(), nameof(DtlsClientOptions.PskKey), nameof(DtlsClientOptions.PskIdentity));
    }

    [Test]
    public void Psk_identity_bytes_without_key_names_PskKey()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { PskIdentity = new byte[] { 0xff, 0x01 } }).Dispose(), nameof(DtlsClientOptions.PskKey));
    }

    // Built at run time: attribute strings are stored as UTF-8, where a lone surrogate cannot survive.
    [TestCase("", 0xD800, "")]
    [TestCase("device-", 0xDC00, "")]
    [TestCase("a", 0xD83D, "b")]
    public void Psk_identity_text_without_an_exact_UTF8_form_names_PskIdentityText(string before, int surrogate, string after)
    {
        string text = before + (char)surrogate + after;
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { PskIdentityText = text, PskKey = Key }).Dispose(), nameof(DtlsClientOptions.PskIdentityText), "lone surrogate");
    }

    [Test]
    public void Empty_psk_identity_text_names_PskIdentityText()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { PskIdentityText = string.Empty, PskKey = Key }).Dispose(), nameof(DtlsClientOptions.PskIdentityText), "1 to 255 bytes");
    }

    [TestCase(256)]
    [TestCase(1000)]
    [TestCase(65535)]
    public void Psk_identity_over_the_limit_names_PskIdentity_and_the_limit(int length)
    {
        byte[] identity = Enumerable.Repeat((byte)'x', length).ToArray();
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { PskIdentity = identity, PskKey = Key }).Dispose(), nameof(DtlsClientOptions.PskIdentity), "at most 255", "PSK_MAX_IDENTITY_LEN");
        Assert.That(() => new DtlsContext(new DtlsClientOptions { PskIdentity = identity.AsMemory(0, 255), PskKey = Key }).Dispose(), Throws.Nothing);
    }

    [TestCase(0)]
    [TestCase(3)]
    [TestCase(7)]
    public void Psk_identity_holding_a_zero_byte_names_PskIdentity_and_why(int offset)
    {
        byte[] identity = "device-7"u8.ToArray();
        identity[offset] = 0;
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { PskIdentity = identity, PskKey = Key }).Dispose(), nameof(DtlsClientOptions.PskIdentity), $"offset {offset}", "C string");
    }

    [Test]
    public void Psk_key_over_the_limit_names_PskKey()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { PskIdentityText = "a", PskKey = new byte[513] }).Dispose(), nameof(DtlsClientOptions.PskKey), "512");
    }

    [Test]
    public void Maximum_protocol_below_minimum_names_MaximumProtocol()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { MinimumProtocol = DtlsProtocolVersion.Dtls13, MaximumProtocol = DtlsProtocolVersion.Dtls12 }).Dispose(), nameof(DtlsOptions.MaximumProtocol), "MinimumProtocol");
    }

    [Test]
    public void Certificate_chain_without_certificate_names_CertificateChain()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsClientOptions { CertificateChain = [DtlsTestCertificates.Ca] }).Dispose(), nameof(DtlsOptions.CertificateChain), nameof(DtlsOptions.Certificate));
    }

    [Test]
    public void Psk_hint_without_psk_names_PskIdentityHint_and_both_key_stores()
    {
        AssertNamesSetting(() => new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.Server, PskIdentityHint = "hint" }).Dispose(), nameof(DtlsServerOptions.PskIdentityHint), nameof(DtlsServerOptions.PskKeyLookup) + " ", nameof(DtlsServerOptions.PskKeyLookupAsync));
    }

    [Test]
    public void Psk_hint_with_either_key_store_is_accepted()
    {
        byte[] key = new byte[16];
        Assert.Multiple(() =>
        {
            Assert.That(() => new DtlsContext(new DtlsServerOptions { PskIdentityHint = "hint", PskKeyLookup = _ => key }).Dispose(), Throws.Nothing);
            Assert.That(() => new DtlsContext(new DtlsServerOptions
            {
                PskIdentityHint = "hint",
                PskKeyLookupAsync = (_, _) => ValueTask.FromResult<ReadOnlyMemory<byte>?>(key),
                MaximumProtocol = DtlsProtocolVersion.Dtls12,
            }).Dispose(), Throws.Nothing);
        });
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Psk_only_server_asking_for_client_certificates_names_the_request(bool require)
    {
        var options = new DtlsServerOptions { PskKeyLookup = _ => Key, RequireClientCertificate = require, RequestClientCertificate = !require };
        AssertNamesSetting(() => new DtlsContext(options).Dispose(), require ? nameof(DtlsServerOptions.RequireClientCertificate) : nameof(DtlsServerOptions.RequestClientCertificate), "Certificate");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Server_pins_without_RequireClientCertificate_names_both(bool request)
    {
        var options = new DtlsServerOptions { Certificate = DtlsTestCertificates.Server, PinnedCertificateSha256 = [new string('A', 64)], RequestClientCertificate = request };
        AssertNamesSetting(() => new DtlsContext(options).Dispose(), nameof(DtlsOptions.PinnedCertificateSha256), nameof(DtlsServerOptions.RequireClientCertificate));
    }

    [TestCase(nameof(DtlsOptions.CaFile))]
    [TestCase(nameof(DtlsOptions.TrustedCertificates))]
    [TestCase(nameof(DtlsOptions.RemoteCertificateValidation))]
    public void Server_trust_settings_without_asking_for_client_certificates_name_the_setting(string setting)
    {
        (string ca, _) = DtlsTestCertificates.WritePem(DtlsTestCertificates.Server);
        var options = setting switch
        {
            nameof(DtlsOptions.CaFile) => new DtlsServerOptions { Certificate = DtlsTestCertificates.Server, CaFile = ca },
            nameof(DtlsOptions.TrustedCertificates) => new DtlsServerOptions { Certificate = DtlsTestCertificates.Server, TrustedCertificates = [DtlsTestCertificates.Ca] },
            _ => new DtlsServerOptions { Certificate = DtlsTestCertificates.Server, RemoteCertificateValidation = (_, _, _, errors) => errors == System.Net.Security.SslPolicyErrors.None },
        };
        AssertNamesSetting(() => new DtlsContext(options).Dispose(), setting, nameof(DtlsServerOptions.RequestClientCertificate));
    }

    [Test]
    public void Ticket_keys_with_tickets_off_names_SessionTicketKeys()
    {
        var options = new DtlsServerOptions { Certificate = DtlsTestCertificates.Server, SessionTicketKeys = new byte[80], EnableSessionTickets = false };
        AssertNamesSetting(() => new DtlsContext(options).Dispose(), nameof(DtlsServerOptions.SessionTicketKeys), nameof(DtlsServerOptions.EnableSessionTickets));
    }

    [TestCase(nameof(DtlsOptions.PinnedCertificateSha256))]
    [TestCase(nameof(DtlsOptions.TrustedCertificates))]
    [TestCase(nameof(DtlsOptions.RemoteCertificateValidation))]
    public void Psk_client_with_certificate_checks_that_would_never_run_names_the_setting(string setting)
    {
        var options = setting switch
        {
            nameof(DtlsOptions.PinnedCertificateSha256) => new DtlsClientOptions { PskIdentityText = "a", PskKey = Key, PinnedCertificateSha256 = [new string('A', 64)] },
            nameof(DtlsOptions.TrustedCertificates) => new DtlsClientOptions { PskIdentityText = "a", PskKey = Key, TrustedCertificates = [DtlsTestCertificates.Ca] },
            _ => new DtlsClientOptions { PskIdentityText = "a", PskKey = Key, RemoteCertificateValidation = (_, _, _, errors) => errors == System.Net.Security.SslPolicyErrors.None },
        };
        AssertNamesSetting(() => new DtlsContext(options).Dispose(), setting, "PSK suites", nameof(DtlsOptions.CipherList));
        Assert.That(() => new DtlsContext(new DtlsClientOptions { PskIdentityText = "a", PskKey = Key, PinnedCertificateSha256 = [new string('A', 64)], CipherList = "PSK-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256" }).Dispose(), Throws.Nothing);
    }

    [TestCase("pkcs8")]
    [TestCase("traditional")]
    [CancelAfter(30_000)]
    public async Task An_encrypted_key_file_is_refused_at_creation_instead_of_prompting_for_a_passphrase(string form)
    {
        // Written by the openssl CLI, as a user's key would be: PKCS#8 ENCRYPTED PRIVATE KEY, or the
        // traditional form with a Proc-Type: 4,ENCRYPTED header.
        using OpenSslDtls.Tests.Support.TempDirectory files = OpenSslDtls.Tests.Support.TempDirectory.Create("encrypted-key");
        (string certificate, string plainKey) = DtlsTestCertificates.WritePem(DtlsTestCertificates.RsaSelfSigned);
        string encrypted = files.File("encrypted.key");
        string[] arguments = form == "pkcs8"
            ? ["pkey", "-in", plainKey, "-aes256", "-passout", "pass:secret", "-out", encrypted]
            : ["rsa", "-in", plainKey, "-aes256", "-passout", "pass:secret", "-traditional", "-out", encrypted];
        using (var openssl = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("openssl", arguments) { RedirectStandardInput = true, RedirectStandardError = true }) ?? throw new InvalidOperationException("openssl did not start"))
        {
            openssl.StandardInput.Close();
            await openssl.WaitForExitAsync();
            Assert.That(openssl.ExitCode, Is.Zero, await openssl.StandardError.ReadToEndAsync());
        }

        Assert.That(File.ReadAllText(encrypted), form == "pkcs8" ? Does.Contain("ENCRYPTED PRIVATE KEY") : Does.Contain("Proc-Type: 4,ENCRYPTED"));
        Assert.That(() => new DtlsContext(new DtlsServerOptions { CertificateChainFile = certificate, PrivateKeyFile = encrypted }),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("PrivateKeyFile").And.Message.Contains("encrypted").And.Message.Contains("passphrase"));
    }

    [Test]
    public void A_cipher_list_the_credentials_cannot_use_is_refused_at_creation()
    {
        byte[] key = new byte[16];
        Assert.Multiple(() =>
        {
            Assert.That(() => new DtlsContext(new DtlsServerOptions { PskKeyLookup = _ => key, CipherList = "ECDHE-ECDSA-AES128-GCM-SHA256" }),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("CipherList").And.Message.Contains("no pre-shared-key suite"));
            Assert.That(() => new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned, CipherList = "PSK-AES128-CCM8" }),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("CipherList").And.Message.Contains("neither PskKeyLookup nor PskKeyLookupAsync"));
            Assert.That(() => new DtlsContext(new DtlsClientOptions { CipherList = "PSK-AES128-GCM-SHA256" }),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("CipherList").And.Message.Contains("no PskKey"));
            Assert.That(() => new DtlsContext(new DtlsClientOptions { PskIdentityText = "d", PskKey = key, CipherList = "ECDHE-ECDSA-AES128-GCM-SHA256" }),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("CipherList"));
        });

        // What stays valid: a PSK server that also has a certificate may list certificate suites first.
        using var both = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned, PskKeyLookup = _ => key, CipherList = "ECDHE-ECDSA-AES128-GCM-SHA256:PSK-AES128-CCM8" });
    }
}
