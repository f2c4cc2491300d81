using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// Datagrams no peer sends on purpose, built by hand and injected by an on-path relay with the
/// other side's address: empty and malformed datagrams, records OpenSSL 3.0 would answer with a
/// fatal alert, and warning alerts. None may end a handshake or a session (RFC 6347 §4.1.2.7:
/// invalid records are discarded).
/// </summary>
[TestFixture]
public sealed class ForgedDatagramTests : DtlsFixture
{
    /// <summary>A plaintext (epoch 0) alert record: level 1 = warning, 2 = fatal.</summary>
    internal static byte[] PlaintextAlert(byte level, byte description, ulong sequence)
    {
        byte[] record = new byte[13 + 2];
        record[0] = 21;
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(1), 0xFEFD);
        BinaryPrimitives.WriteUInt64BigEndian(record.AsSpan(3), sequence); // epoch 0 in the top two bytes
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(11), 2);
        record[13] = level;
        record[14] = description;
        return record;
    }

    /// <summary>A record in epoch 0 (plaintext) of <paramref name="type"/> holding <paramref name="body"/>.</summary>
    internal static byte[] PlaintextRecord(byte type, byte[] body)
    {
        byte[] record = new byte[13 + body.Length];
        record[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(1), 0xFEFD);
        BinaryPrimitives.WriteUInt64BigEndian(record.AsSpan(3), 200);
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(11), (ushort)body.Length);
        body.CopyTo(record.AsSpan(13));
        return record;
    }

    /// <summary>The kinds of forged datagram: (name, bytes). Epoch-1 records are the ones OpenSSL 3.0 fails on (openssl issues 25290, 25389).</summary>
    internal static IEnumerable<(string Name, byte[] Bytes)> Forgeries(int seed)
    {
        var random = new Random(seed);
        yield return ("empty", []);
        yield return ("one byte", [23]);
        yield return ("truncated header", [23, 0xFE, 0xFD, 0, 1]);
        yield return ("length past the end", [23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 200, 1, 2, 3]);
        byte[] shortEncrypted = new byte[13 + 5];
        shortEncrypted[0] = 23;
        BinaryPrimitives.WriteUInt16BigEndian(shortEncrypted.AsSpan(1), 0xFEFD);
        BinaryPrimitives.WriteUInt64BigEndian(shortEncrypted.AsSpan(3), (1UL << 48) | 77);
        BinaryPrimitives.WriteUInt16BigEndian(shortEncrypted.AsSpan(11), 5);
        yield return ("encrypted record shorter than nonce and tag", shortEncrypted);
        byte[] unknownType = (byte[])shortEncrypted.Clone();
        unknownType[0] = 99;
        yield return ("unknown content type", unknownType);
        byte[] garbage = new byte[200];
        random.NextBytes(garbage);
        yield return ("random bytes", garbage);
        yield return ("epoch-0 application data", PlaintextRecord(23, [1, 2, 3, 4, 5, 6, 7, 8]));
        yield return ("epoch-0 ChangeCipherSpec that is not the byte 1", PlaintextRecord(20, [1, 1]));
        byte[] handshakeGarbage = new byte[30];
        random.NextBytes(handshakeGarbage);
        handshakeGarbage[1] = 0; // a message length below its fragment's end: no handshake header says that
        handshakeGarbage[2] = 0;
        handshakeGarbage[3] = 1;
        handshakeGarbage[9] = 0;
        handshakeGarbage[10] = 0;
        handshakeGarbage[11] = 18;
        yield return ("epoch-0 handshake record with a broken header", PlaintextRecord(22, handshakeGarbage));
        byte[] badMac = new byte[13 + 40];
        random.NextBytes(badMac);
        badMac[0] = 23;
        BinaryPrimitives.WriteUInt16BigEndian(badMac.AsSpan(1), 0xFEFD);
        BinaryPrimitives.WriteUInt64BigEndian(badMac.AsSpan(3), (1UL << 48) | 1000);
        BinaryPrimitives.WriteUInt16BigEndian(badMac.AsSpan(11), 40);
        yield return ("well-formed record whose MAC fails", badMac);
    }

    [TestCase(1)]
    [TestCase(6)]
    [CancelAfter(30_000)]
    public async Task Warning_alerts_injected_during_the_handshake_do_not_end_it(int warnings, CancellationToken cancellationToken)
    {
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });
        using var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, HandshakeTimeout = TimeSpan.FromSeconds(10) });
        using Socket serverSocket = LoopbackPair.Bound();
        UdpRelay? relay = null;
        relay = new UdpRelay(serverSocket.LocalEndPoint!)
        {
            Drop = (fromClient, index, _) =>
            {
                // Right after the ClientHello: unrecognized_name (112) warnings, as a server that does not
                // know the SNI name may send, then the real ServerHello flight.
                if (fromClient && index == 0)
                {
                    for (int i = 0; i < warnings; i++)
                    {
                        relay!.Inject(toClient: true, PlaintextAlert(1, 112, (ulong)(100 + i)));
                        relay.Inject(toClient: false, PlaintextAlert(1, 112, (ulong)(100 + i)));
                    }
                }

                return false;
            },
        };
        using (relay)
        {
            serverSocket.Connect(relay.EndPoint);
            Socket clientSocket = LoopbackPair.Bound();
            clientSocket.Connect(relay.EndPoint);
            await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext, serverSocket, clientSocket);
            await pair.HandshakeAsync(cancellationToken);
            byte[] payload = RandomNumberGenerator.GetBytes(100);
            Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
            Assert.That(pair.Client.IgnoredRecords, Is.EqualTo(warnings), "the warnings reached the client and were skipped");
            Assert.That(pair.Server.IgnoredRecords, Is.EqualTo(warnings), "the warnings reached the server and were skipped");
        }
    }

    [TestCase(20261129)]
    [CancelAfter(30_000)]
    public async Task Forged_datagrams_during_and_after_the_handshake_are_dropped_and_counted(int seed, CancellationToken cancellationToken)
    {
        (string Name, byte[] Bytes)[] forgeries = Forgeries(seed).ToArray();
        int malformed = forgeries.Length - 1; // all but the well-formed record whose MAC fails, which OpenSSL discards itself
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });
        using var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, HandshakeTimeout = TimeSpan.FromSeconds(10) });
        (long serverRejected, long clientRejected) = await InjectionRun.HandshakeAndEchoTwiceAsync(
            serverContext, clientContext, forgeries.Select(f => f.Bytes).ToArray(), $"seed {seed}", cancellationToken);
        Assert.Multiple(() =>
        {
            // Four rounds reached each side: at the first datagram in each direction, and twice after
            // the handshake; every malformed kind was counted each time.
            Assert.That(serverRejected, Is.EqualTo(4 * malformed), $"seed {seed}");
            Assert.That(clientRejected, Is.EqualTo(4 * malformed), $"seed {seed}");
        });
    }
}
