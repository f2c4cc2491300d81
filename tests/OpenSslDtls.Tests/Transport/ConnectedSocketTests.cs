using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Transport;

/// <summary>
/// The receive side of a session on a connected UDP socket (ConnectedSocketDriver): its buffer holds
/// the largest datagram DTLS can send (one record, 13 + 2^14 + 2048 bytes, RFC 6347 §4.1), larger
/// datagrams are dropped whole and counted, never handed on cut; and disposing the session ends its
/// receive without an exception and leaves a caller's socket free.
/// </summary>
public sealed class ConnectedSocketTests : DtlsFixture
{
    /// <summary>13-byte record header plus the largest DTLSCiphertext fragment (RFC 5246 §6.2.3).</summary>
    private const int LargestDtlsDatagram = 13 + 16384 + 2048;

    private static DtlsContext Server() => new(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });

    private static DtlsContext TrustingClient() => new(new DtlsClientOptions
    {
        TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned],
        TargetHost = DtlsTestCertificates.Host,
    });

    /// <summary>
    /// Epoch-1 application_data records (records of a live session to the filter, garbage to
    /// OpenSSL, which drops a record that fails decryption silently) filling exactly
    /// <paramref name="size"/> bytes. Cut at any record boundary, the rest still passes the filter:
    /// so a datagram handed on cut would NOT be counted as rejected.
    /// </summary>
    private static byte[] EncryptedLookingRecords(int size, ref ulong sequence)
    {
        byte[] datagram = new byte[size];
        Random.Shared.NextBytes(datagram); // the ciphertext
        int offset = 0;
        while (offset < size)
        {
            int remaining = size - offset;
            int body = remaining - 13 <= 16384 ? remaining - 13 : Math.Min(16384, remaining - 13 - 13 - 64);
            Span<byte> header = datagram.AsSpan(offset, 13);
            header[0] = 23; // application_data
            header[1] = 0xFE;
            header[2] = 0xFD; // DTLS 1.2
            BinaryPrimitives.WriteUInt64BigEndian(header[3..], (1UL << 48) | (sequence++ + 1_000_000)); // epoch 1, 48-bit sequence number
            BinaryPrimitives.WriteUInt16BigEndian(header[11..], (ushort)body);
            offset += 13 + body;
        }

        return datagram;
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Datagrams_larger_than_any_DTLS_record_are_dropped_whole_and_counted_and_the_session_keeps_working(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = TrustingClient();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);
        ulong sequence = 0;

        // From the client session's connected peer address (the server's socket), as the network would
        // deliver them. The echo after each one comes later on the same path, so when it is back the
        // datagram was processed. Up to the largest DTLS datagram: handed to OpenSSL, which drops the
        // garbage records, not counted. Above: dropped whole, counted, even though its first
        // LargestDtlsDatagram + 1 bytes are whole records that would pass the filter.
        int[] fitting = [LargestDtlsDatagram - 1000, LargestDtlsDatagram - 1, LargestDtlsDatagram];
        int[] oversized = [LargestDtlsDatagram + 1, LargestDtlsDatagram + 2, LargestDtlsDatagram + 100, 40_000, 65_507];
        foreach (int size in fitting.Concat(oversized))
        {
            long before = pair.Client.RejectedDatagrams;
            byte[] datagram = new byte[size];
            Random.Shared.NextBytes(datagram); // past LargestDtlsDatagram + 1 bytes: anything
            EncryptedLookingRecords(Math.Min(size, LargestDtlsDatagram + 1), ref sequence).CopyTo(datagram, 0);
            Assert.That(pair.ServerSocket.Send(datagram), Is.EqualTo(size));

            byte[] payload = BitConverter.GetBytes(size);
            Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload), $"the session still echoes after a {size}-byte datagram");
            Assert.That(pair.Client.RejectedDatagrams - before, Is.EqualTo(size > LargestDtlsDatagram ? 1 : 0), $"a {size}-byte datagram");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Disposing_sessions_throws_no_exception_and_frees_the_callers_socket(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = TrustingClient();
        var pairs = new List<LoopbackPair>();
        await using DtlsListener listener = DtlsListener.Listen(new DtlsListenerOptions
        {
            LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            ServerOptions = new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned },
        });
        var owned = new List<DtlsSession>();
        var accepted = new List<DtlsSession>();
        try
        {
            for (int i = 0; i < 10; i++)
            {
                pairs.Add(await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken));
                Task<DtlsSession> accept = listener.AcceptAsync(cancellationToken).AsTask();
                owned.Add(await DtlsClient.ConnectAsync(listener.LocalEndPoint, clientContext, cancellationToken));
                accepted.Add(await accept);
            }

            // Each session's receive was pending on its socket (an idle established session): the
            // dispose must end it without throwing (no OperationCanceledException, no SocketException).
            var thrown = new ConcurrentQueue<Exception>();
            void OnFirstChance(object? sender, FirstChanceExceptionEventArgs e) => thrown.Enqueue(e.Exception);
            AppDomain.CurrentDomain.FirstChanceException += OnFirstChance;
            try
            {
                foreach (DtlsSession session in owned)
                {
                    session.Dispose(); // DtlsClient's session owns its socket
                }

                byte[] buffer = new byte[64];
                foreach (LoopbackPair pair in pairs)
                {
                    pair.Client.Dispose(); // over the caller's socket, which stays open

                    // The caller's socket is free again: the next datagram reaches the caller's own
                    // receive, not a receive the disposed session left behind.
                    pair.ServerSocket.Send("after"u8);
                    int n = await pair.ClientSocket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                    Assert.That(buffer.AsSpan(0, n).ToArray(), Is.EqualTo("after"u8.ToArray()));
                }
            }
            finally
            {
                AppDomain.CurrentDomain.FirstChanceException -= OnFirstChance;
            }

            Assert.That(thrown, Is.Empty, () => "exceptions thrown while disposing:\n" + string.Join("\n---\n", thrown.Select(e => e.ToString())));
        }
        finally
        {
            foreach (LoopbackPair pair in pairs)
            {
                await pair.DisposeAsync();
            }

            foreach (DtlsSession session in accepted.Concat(owned))
            {
                await session.DisposeAsync();
            }
        }
    }
}
