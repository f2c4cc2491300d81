using System.Net.Sockets;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Interop;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Interop;

/// <summary>
/// The classic "DTLS with OpenSSL" walk-through in C#, with nothing but the raw layer: (1) configure an
/// <c>SSL_CTX</c> per side, (2) a <c>BIO_new_dgram</c> over a connected UDP socket, (3) <c>SSL_new</c>,
/// <c>SSL_set_bio</c>, <c>SSL_accept</c>/<c>SSL_connect</c>. Real UDP on 127.0.0.1; one thread drives both ends.
/// </summary>
[TestFixture]
public sealed class ThreeStepsEchoTests
{
    private const int PayloadLength = 4096;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(15);

    private TempDirectory _temp = null!;
    private string _sourceFile = null!;

    /// <summary>How the server's certificate and the client's trust are loaded.</summary>
    public enum CertificateSource
    {
        /// <summary>PEM in memory: <c>PEM_read_bio_X509</c>/<c>PEM_read_bio_PrivateKey</c> and <c>X509_STORE_add_cert</c>.</summary>
        Memory,

        /// <summary>PEM files, the blog's way: <c>SSL_CTX_use_certificate_chain_file</c>, <c>SSL_CTX_use_PrivateKey_file</c>, <c>SSL_CTX_load_verify_locations</c>.</summary>
        Files,
    }

    [SetUp]
    public void CreateSourceFile()
    {
        _temp = TempDirectory.Create(TestContext.CurrentContext.Test.MethodName ?? "echo");
        _sourceFile = _temp.File("source.bin");
        File.WriteAllBytes(_sourceFile, RandomNumberGenerator.GetBytes(2 * PayloadLength));
    }

    [TearDown]
    public void DeleteFiles() => _temp.Dispose();

    [Test]
    public void Client_sends_the_first_4_KB_of_a_file_and_the_server_echoes_every_byte(
        [Values(KeyKind.Rsa2048, KeyKind.EcdsaP256)] KeyKind keyKind,
        [Values] CertificateSource source)
    {
        EchoFirst4KB(TestPki.CreateSelfSigned(keyKind), source);
    }

    [Test]
    public void Echo_works_with_an_RSA_4096_chain_the_server_sends_with_its_intermediate()
    {
        EchoFirst4KB(TestPki.Rsa4096Chain, CertificateSource.Files);
    }

    private unsafe void EchoFirst4KB(TestCertificate certificate, CertificateSource source)
    {
        // Step 1: one context per side. The server gets its certificate and key; the client trusts the
        // server's root and verifies the peer.
        using SafeSslContextHandle serverContext = RawContexts.NewDtlsContext();
        using SafeSslContextHandle clientContext = RawContexts.NewDtlsContext();
        if (source == CertificateSource.Files)
        {
            TestPemFiles files = certificate.WritePem(_temp.Path, "server");
            TestPki.UseIdentityFiles(serverContext, files);
            TestPki.TrustFile(clientContext, files.TrustAnchorFile);
        }
        else
        {
            TestPki.UseIdentity(serverContext, certificate);
            TestPki.Trust(clientContext, certificate);
        }

        LibSsl.SSL_CTX_set_verify(clientContext, LibSsl.SSL_VERIFY_PEER, null);

        // Steps 2 and 3: a connected UDP socket each, a datagram BIO over it, an SSL over the BIO.
        (Socket serverSocket, Socket clientSocket) = LoopbackUdp.ConnectedPair();
        using (serverSocket)
        using (clientSocket)
        {
            using var server = new RawDtlsPeer("server", serverContext, serverSocket, isServer: true);
            using var client = new RawDtlsPeer("client", clientContext, clientSocket, isServer: false);
            RawContexts.ExpectHost(client, TestPki.DefaultHost);
            var pump = new DtlsPump(Budget, relay: null, server, client);

            pump.Handshake();

            Assert.Multiple(() =>
            {
                Assert.That(server.Failure, Is.Null, "server failure");
                Assert.That(client.Failure, Is.Null, "client failure");
                Assert.That(LibSsl.SSL_get_version(client.Ssl), Is.EqualTo("DTLSv1.2"));
                Assert.That(LibSsl.SSL_get_version(server.Ssl), Is.EqualTo("DTLSv1.2"));
                Assert.That(LibSsl.SSL_CIPHER_get_name(LibSsl.SSL_get_current_cipher(client.Ssl)), Is.Not.Null.And.Not.Empty);
                Assert.That(LibSsl.SSL_CIPHER_get_name(LibSsl.SSL_get_current_cipher(server.Ssl)),
                    Is.EqualTo(LibSsl.SSL_CIPHER_get_name(LibSsl.SSL_get_current_cipher(client.Ssl))));
                Assert.That((long)LibSsl.SSL_get_verify_result(client.Ssl), Is.EqualTo(LibCrypto.X509_V_OK));
            });
            using (SafeX509Handle seen = LibSsl.SSL_get1_peer_certificate(client.Ssl))
            {
                Assert.That(seen.IsInvalid, Is.False, "the client saw no server certificate");
                Assert.That(LibCrypto.i2d_X509(seen.DangerousGetHandle()), Is.EqualTo(certificate.RawData.ToArray()));
            }

            byte[] payload = new byte[PayloadLength];
            using (FileStream file = File.OpenRead(_sourceFile))
            {
                file.ReadExactly(payload);
            }

            // 4 KB does not fit one record at a 1500-byte MTU: one SSL_write_ex per datagram, each at most
            // DTLS_get_data_mtu bytes (the plaintext a record can carry once header, IV and tag are counted).
            int dataMtu = checked((int)LibSsl.DTLS_get_data_mtu(client.Ssl));
            Assert.That(dataMtu, Is.GreaterThan(0).And.LessThan(payload.Length));
            byte[][] chunks = payload.Chunk(dataMtu).ToArray();
            foreach (byte[] chunk in chunks)
            {
                client.Send(chunk);
            }

            var recordsAtServer = new List<int>();
            var echoed = new List<byte>(payload.Length);
            pump.Run(
                () => echoed.Count >= payload.Length || server.Failure is not null || client.Failure is not null,
                "the echo",
                work: () =>
                {
                    while (server.Inbox.TryDequeue(out byte[]? record))
                    {
                        recordsAtServer.Add(record.Length);
                        server.Send(record); // echo each record as it came
                    }

                    while (client.Inbox.TryDequeue(out byte[]? echo))
                    {
                        echoed.AddRange(echo);
                    }
                });

            Assert.Multiple(() =>
            {
                Assert.That(server.Failure, Is.Null, "server failure");
                Assert.That(client.Failure, Is.Null, "client failure");
                Assert.That(recordsAtServer, Is.EqualTo(chunks.Select(c => c.Length)), "one record per datagram, boundaries kept");
                Assert.That(echoed.ToArray(), Is.EqualTo(payload), "echoed bytes");
            });

            // close_notify: the server's next read reports SSL_ERROR_ZERO_RETURN.
            Assert.That(client.Shutdown(), Is.Zero.Or.EqualTo(1));
            pump.Run(() => server.Closed || server.Failure is not null, "close_notify");
            Assert.That(server.Failure, Is.Null);
        }
    }
}
