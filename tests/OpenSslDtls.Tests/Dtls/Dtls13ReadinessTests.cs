using System.Buffers.Binary;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSsl.Interop;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// DTLS 1.3 readiness (docs/openssl-versions.md, "DTLS 1.3"): the protocol settings accept DTLS 1.3 and a
/// session reports it where the loaded libssl implements it (OpenSSL 4.1 and newer, found through
/// OPENSSLDTLS_LIBRARY_DIR); where it does not, the setting is refused with the documented message, which is
/// what these tests then check (never a silent pass). Records framed as DTLS 1.3 (unified headers, ACK,
/// connection-ID records), built by hand, go through the record filter without ending a DTLS 1.2 session.
/// </summary>
[TestFixture]
public sealed class Dtls13ReadinessTests : DtlsFixture
{
    /// <summary>The protocol settings a user can set to DTLS 1.3.</summary>
    public enum Dtls13Setting
    {
        /// <summary>MinimumProtocol = MaximumProtocol = Dtls13: DTLS 1.3 only.</summary>
        Only,

        /// <summary>MaximumProtocol = Dtls13: DTLS 1.2 or 1.3.</summary>
        AsMaximum,
    }

    [TestCase(Dtls13Setting.Only)]
    [TestCase(Dtls13Setting.AsMaximum)]
    [CancelAfter(30_000)]
    public async Task Dtls13_is_negotiated_where_the_libssl_has_it_else_the_setting_is_refused_naming_the_libssl(Dtls13Setting setting, CancellationToken cancellationToken)
    {
        DtlsProtocolVersion minimum = setting == Dtls13Setting.Only ? DtlsProtocolVersion.Dtls13 : DtlsProtocolVersion.Dtls12;
        var serverOptions = new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned, MinimumProtocol = minimum, MaximumProtocol = DtlsProtocolVersion.Dtls13 };
        var clientOptions = new DtlsClientOptions { InsecureSkipCertificateValidation = true, MinimumProtocol = minimum, MaximumProtocol = DtlsProtocolVersion.Dtls13 };
        bool has13 = DtlsProtocolSupport.IsSupported(DtlsProtocolVersion.Dtls13);
        TestContext.Out.WriteLine($"{OpenSslLibrary.Info}: DTLS 1.3 {(has13 ? "present: handshake checked" : "absent: the refusal checked")}");

        if (!has13)
        {
            string refusedSetting = setting == Dtls13Setting.Only ? nameof(DtlsOptions.MinimumProtocol) : nameof(DtlsOptions.MaximumProtocol);
            Assert.Multiple(() =>
            {
                foreach (Func<DtlsContext> create in new Func<DtlsContext>[] { () => new DtlsContext(serverOptions), () => new DtlsContext(clientOptions) })
                {
                    ArgumentException? refused = Assert.Throws<ArgumentException>(() => create().Dispose());
                    Assert.That(refused!.ParamName, Is.EqualTo(refusedSetting));
                    Assert.That(refused.Message, Does.StartWith($"{refusedSetting} = Dtls13: this libssl has no DTLS 1.3 ({OpenSslLibrary.Info.VersionText};")
                        .And.Contain(OpenSslLibrary.DirectoryVariable));
                }

                Assert.That(DtlsProtocolSupport.Newest, Is.EqualTo(DtlsProtocolVersion.Dtls12));
            });
            return;
        }

        using var serverContext = new DtlsContext(serverOptions);
        using var clientContext = new DtlsContext(clientOptions);
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);
        byte[] payload = RandomNumberGenerator.GetBytes(1000);
        Assert.Multiple(async () =>
        {
            Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
            Assert.That(pair.Client.NegotiatedProtocol, Is.EqualTo(DtlsProtocolVersion.Dtls13));
            Assert.That(pair.Server.NegotiatedProtocol, Is.EqualTo(DtlsProtocolVersion.Dtls13));
            Assert.That(pair.Client.ProtocolVersion, Is.EqualTo("DTLSv1.3"));
            Assert.That(DtlsProtocolSupport.Newest, Is.EqualTo(DtlsProtocolVersion.Dtls13));
        });
    }

    [Test]
    public void A_value_that_is_no_DTLS_version_is_refused_naming_the_setting()
    {
        // 0x0303 is TLS 1.2: a DTLS context has no such version.
        ArgumentException? refused = Assert.Throws<ArgumentException>(() =>
            new DtlsContext(new DtlsClientOptions { MaximumProtocol = (DtlsProtocolVersion)0x0303 }).Dispose());

        Assert.That(refused!.ParamName, Is.EqualTo(nameof(DtlsOptions.MaximumProtocol)));
    }

    [TestCase(null)]
    [TestCase(DtlsProtocolVersion.Dtls12)]
    [CancelAfter(30_000)]
    public async Task A_DTLS_12_session_reports_its_version(DtlsProtocolVersion? maximum, CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned, MaximumProtocol = DtlsProtocolVersion.Dtls12 });
        using var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, MaximumProtocol = maximum });
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(pair.Client.NegotiatedProtocol, Is.EqualTo(DtlsProtocolVersion.Dtls12));
            Assert.That(pair.Server.NegotiatedProtocol, Is.EqualTo(DtlsProtocolVersion.Dtls12));
            Assert.That(pair.Client.ProtocolVersion, Is.EqualTo("DTLSv1.2"));
        });
    }

    /// <summary>Records framed as DTLS 1.3 or RFC 9146 would frame them (RFC 9147 §4, §7; RFC 9146 §4), with random contents.</summary>
    internal static IEnumerable<(string Name, byte[] Bytes)> Dtls13ShapedRecords(int seed)
    {
        var random = new Random(seed);
        // Unified header 0b001CSLEE: C=0 (no CID), S=1 (16-bit sequence), L=1 (length present), EE = epoch low bits.
        for (int epochBits = 0; epochBits < 4; epochBits++)
        {
            byte[] unified = new byte[1 + 2 + 2 + 40];
            random.NextBytes(unified);
            unified[0] = (byte)(0x2C | epochBits);
            BinaryPrimitives.WriteUInt16BigEndian(unified.AsSpan(3), 40);
            yield return ($"unified header 0x{unified[0]:X2} (ciphertext)", unified);
        }

        // Unified header without length (L=0): the record runs to the end of the datagram.
        byte[] noLength = new byte[1 + 1 + 30];
        random.NextBytes(noLength);
        noLength[0] = 0x21; // S=0 (8-bit sequence), L=0, epoch 1
        yield return ("unified header 0x21 without length", noLength);

        // ACK (26) and tls12_cid (25) content types in a DTLS 1.2-style header, epoch 0 (plaintext) and 2.
        foreach (byte type in new byte[] { 26, 25 })
        {
            foreach (ulong epoch in new ulong[] { 0, 2 })
            {
                byte[] record = new byte[13 + 16];
                random.NextBytes(record);
                record[0] = type;
                BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(1), 0xFEFD);
                BinaryPrimitives.WriteUInt64BigEndian(record.AsSpan(3), (epoch << 48) | (uint)random.Next(1, 1000));
                BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(11), 16);
                yield return ($"type {type}, epoch {epoch}", record);
            }
        }
    }

    [TestCase(null)]
    [TestCase(DtlsProtocolVersion.Dtls12)]
    [CancelAfter(30_000)]
    public async Task Dtls13_shaped_records_during_and_after_a_DTLS_12_handshake_are_dropped_and_counted(DtlsProtocolVersion? maximum, CancellationToken cancellationToken)
    {
        const int seed = 20261129;
        byte[][] records = Dtls13ShapedRecords(seed).Select(r => r.Bytes).ToArray();
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned, MaximumProtocol = maximum });
        using var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, HandshakeTimeout = TimeSpan.FromSeconds(10), MaximumProtocol = maximum });

        (long server, long client) = await InjectionRun.HandshakeAndEchoTwiceAsync(serverContext, clientContext, records, $"seed {seed}", cancellationToken);

        TestContext.Out.WriteLine($"{OpenSslLibrary.Info.VersionText}, MaximumProtocol {maximum?.ToString() ?? "null"}: {records.Length} kinds x 4 rounds; rejected: server {server}, client {client}");
        if (maximum is null && DtlsProtocolSupport.IsSupported(DtlsProtocolVersion.Dtls13))
        {
            // DTLS 1.3 framing goes to OpenSSL here (the session may be DTLS 1.3): only survival is checked.
            return;
        }

        // No DTLS 1.3 possible: none of them can be valid, and OpenSSL would end the handshake on the
        // plaintext ACK and CID records (UpstreamRecordHandlingTests), so every one is dropped and counted.
        Assert.Multiple(() =>
        {
            Assert.That(server, Is.EqualTo(4 * records.Length));
            Assert.That(client, Is.EqualTo(4 * records.Length));
        });
    }
}
