using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.Tests;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// DTLS-SRTP keys (RFC 5764 §4.2) and RFC 5705 exports compared byte for byte with what openssl
/// (<c>-keymatexport</c>) and gnutls-cli (<c>--keymatexport</c>) export on their side, in both roles.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SrtpKeysPeerTests : CommandLinePeers
{
    // Profile, master key length, master salt length (RFC 5764 §4.1.2, RFC 7714 §12).
    private static readonly object[] Profiles =
    [
        new object[] { "SRTP_AES128_CM_SHA1_80", 16, 14 },
        new object[] { "SRTP_AES128_CM_SHA1_32", 16, 14 },
        new object[] { "SRTP_AEAD_AES_128_GCM", 16, 12 },
        new object[] { "SRTP_AEAD_AES_256_GCM", 32, 12 },
    ];

    [TestCaseSource(nameof(Profiles))]
    [CancelAfter(60_000)]
    public async Task Server_keys_equal_openssl_s_client_export(string profile, int keyLength, int saltLength)
    {
        using X509Certificate2 certificate = TestPki.CreateSelfSigned().ToX509Certificate2();
        await using var listener = EchoListener.Start(new DtlsServerOptions { Certificate = certificate, SrtpProfiles = [.. Profiles.Select(p => (string)((object[])p)[0])] });
        int length = 2 * (keyLength + saltLength);

        PeerProcess client = Start(OpenSsl, "s_client", "-dtls1_2", "-connect", $"127.0.0.1:{listener.Port}", "-use_srtp", profile,
            "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("Keying material: ", StringComparison.Ordinal), Bound, "s_client's keying material");
        AcceptedSession session = await listener.NextSessionAsync(Bound, client.Report());

        AssertSplitAsRfc5764(session.SrtpKeys, profile, keyLength, saltLength, OpenSslKeyingMaterial(client));
        Assert.Multiple(() =>
        {
            Assert.That(Hex(session.NoContextExport.AsSpan(0, length)), Is.EqualTo(Hex(OpenSslKeyingMaterial(client))), "no context = openssl's export");
            Assert.That(session.EmptyContextExport, Is.Not.EqualTo(session.NoContextExport), "an empty context is a different input (RFC 5705 §4)");
        });
    }

    [TestCaseSource(nameof(Profiles))]
    [CancelAfter(60_000)]
    public async Task Client_keys_equal_openssl_s_server_export(string profile, int keyLength, int saltLength)
    {
        TestCertificate identity = TestPki.CreateSelfSigned();
        using var files = TempDirectory.Create("srtp");
        TestPemFiles pem = identity.WritePem(files.Path);
        int length = 2 * (keyLength + saltLength);
        (PeerProcess server, IPEndPoint endpoint) = await StartOpenSslServerAsync("-cert", pem.CertificateFile, "-key", pem.PrivateKeyFile, "-use_srtp", profile,
            "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        await using DtlsSession session = await DtlsClient.ConnectAsync(endpoint, new DtlsClientOptions
        {
            PinnedCertificateSha256 = [Convert.ToHexString(SHA256.HashData(identity.RawData.Span))],
            SrtpProfiles = ["SRTP_AEAD_AES_256_GCM", "SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80", "SRTP_AES128_CM_SHA1_32"],
        });
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("Keying material: ", StringComparison.Ordinal), Bound, "s_server's keying material");

        AssertSplitAsRfc5764(session.GetSrtpKeys(), profile, keyLength, saltLength, OpenSslKeyingMaterial(server));
        Assert.That(Hex(session.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", length)), Is.EqualTo(Hex(OpenSslKeyingMaterial(server))));
    }

    // gnutls 3.7.9 does not know the AEAD profiles (--srtp-profiles SRTP_AEAD_AES_128_GCM is a syntax error).
    [TestCase("SRTP_AES128_CM_HMAC_SHA1_80", "SRTP_AES128_CM_SHA1_80")]
    [TestCase("SRTP_AES128_CM_HMAC_SHA1_32", "SRTP_AES128_CM_SHA1_32")]
    [CancelAfter(60_000)]
    public async Task Server_keys_equal_gnutls_cli_export(string gnutlsProfile, string profile)
    {
        using X509Certificate2 certificate = TestPki.CreateSelfSigned().ToX509Certificate2();
        await using var listener = EchoListener.Start(new DtlsServerOptions { Certificate = certificate, SrtpProfiles = [profile] });

        PeerProcess client = Start(GnutlsCli, "--udp", "-p", listener.Port, "127.0.0.1", "--insecure", "--srtp-profiles", gnutlsProfile,
            "--keymatexport", "EXTRACTOR-dtls_srtp", "--keymatexportsize", "60");
        await client.WaitUntilAsync(p => p.StandardOutput.Contains("- Key material: ", StringComparison.Ordinal), Bound, "gnutls-cli's key material");
        AcceptedSession session = await listener.NextSessionAsync(Bound, client.Report());
        string line = client.StandardOutput.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("- Key material: ", StringComparison.Ordinal));

        AssertSplitAsRfc5764(session.SrtpKeys, profile, 16, 14, Convert.FromHexString(line["- Key material: ".Length..]));
    }

    private static void AssertSplitAsRfc5764(DtlsSrtpKeys? keys, string profile, int keyLength, int saltLength, byte[] peerMaterial)
    {
        Assert.That(keys, Is.Not.Null, "an SRTP profile was negotiated");
        Assert.Multiple(() =>
        {
            Assert.That(keys!.Profile, Is.EqualTo(profile));
            Assert.That(peerMaterial, Has.Length.EqualTo(2 * (keyLength + saltLength)));
            // client_write_SRTP_master_key | server_write_SRTP_master_key | client salt | server salt.
            Assert.That(Hex(keys.ClientKey), Is.EqualTo(Hex(peerMaterial.AsSpan(0, keyLength))));
            Assert.That(Hex(keys.ServerKey), Is.EqualTo(Hex(peerMaterial.AsSpan(keyLength, keyLength))));
            Assert.That(Hex(keys.ClientSalt), Is.EqualTo(Hex(peerMaterial.AsSpan(2 * keyLength, saltLength))));
            Assert.That(Hex(keys.ServerSalt), Is.EqualTo(Hex(peerMaterial.AsSpan((2 * keyLength) + saltLength, saltLength))));
        });
    }
}
