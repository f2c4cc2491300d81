using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSsl.Interop;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// The loaded OpenSSL's default security level decides which certificate keys a context takes
/// (man SSL_CTX_set_security_level(3): level 2 = at least 112-bit security, RSA 2048). Debian builds 3.0,
/// 3.5, 3.6 and 4.0 with level 2 as the default and no openssl.cnf override; this sweep shows it per version
/// in the matrix (docs/openssl-versions.md) and that a refused key names the setting and OpenSSL's reason.
/// </summary>
[TestFixture]
public sealed class SecurityLevelTests : DtlsFixture
{
    [TestCase(1024, false)]
    [TestCase(1536, false)]
    [TestCase(2048, true)]
    [TestCase(3072, true)]
    public void An_RSA_server_key_below_2048_bits_is_refused_at_the_default_security_level(int bits, bool accepted)
    {
        using RSA key = RSA.Create(bits);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var options = new DtlsServerOptions { Certificate = certificate };

        if (accepted)
        {
            Assert.DoesNotThrow(() => new DtlsContext(options).Dispose(), OpenSslLibrary.Info.VersionText);
            return;
        }

        ArgumentException? refused = Assert.Throws<ArgumentException>(() => new DtlsContext(options).Dispose(), OpenSslLibrary.Info.VersionText);
        TestContext.Out.WriteLine($"{OpenSslLibrary.Info.VersionText}: RSA-{bits}: {refused!.Message}");
        Assert.Multiple(() =>
        {
            Assert.That(refused.ParamName, Is.EqualTo(nameof(DtlsOptions.Certificate)));
            Assert.That(refused.Message, Does.Contain("ee key too small"));
        });
    }
}
