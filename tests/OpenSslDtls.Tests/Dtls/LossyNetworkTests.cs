using System.Net.Sockets;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// Handshakes over a relay that loses 40 % of the datagrams in each direction (a seeded random
/// pattern, so a failure can be replayed), with short retransmission timers to keep the test fast.
/// </summary>
public sealed class LossyNetworkTests : DtlsFixture
{
    private const double LossRate = 0.4;
    private const int Handshakes = 5;

    [Test]
    [CancelAfter(120_000)]
    public async Task Handshakes_complete_when_forty_percent_of_datagrams_are_lost(CancellationToken cancellationToken)
    {
        var retry = TimeSpan.FromMilliseconds(50);
        var ceiling = TimeSpan.FromMilliseconds(400);
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            Certificate = DtlsTestCertificates.EcdsaSelfSigned,
            InitialRetransmitTimeout = retry,
            MaximumRetransmitTimeout = ceiling,
        });
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned],
            TargetHost = DtlsTestCertificates.Host,
            InitialRetransmitTimeout = retry,
            MaximumRetransmitTimeout = ceiling,
            AllowSessionResumption = false,
        });

        int dropped = 0;
        long retransmissions = 0;
        for (int seed = 1; seed <= Handshakes; seed++)
        {
            var random = new Random(seed);
            using Socket serverSocket = LoopbackPair.Bound();
            using var relay = new UdpRelay(serverSocket.LocalEndPoint!) { Drop = (_, _, _) => random.NextDouble() < LossRate };
            Socket clientSocket = LoopbackPair.Bound();
            serverSocket.Connect(relay.EndPoint);
            clientSocket.Connect(relay.EndPoint);
            await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext, serverSocket, clientSocket);

            // The server reads as soon as it is established, as an application would: if its last
            // flight is lost, the client's retransmitted Finished reaches OpenSSL through that read,
            // and OpenSSL answers it by sending the flight again.
            using var serverReads = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task accept = Task.Run(async () =>
            {
                await pair.Server.AcceptAsync(serverReads.Token);
                await pair.Server.ReceiveAsync(new byte[2048], serverReads.Token);
            }, CancellationToken.None);
            await pair.Client.ConnectAsync(cancellationToken);
            Assert.That(pair.Client.IsAuthenticated, Is.True, $"seed {seed}");

            await serverReads.CancelAsync();
            Exception? serverEnd = await LoopbackPair.CaptureAsync(async () => await accept);
            Assert.That(serverEnd, Is.Null.Or.InstanceOf<OperationCanceledException>(), $"seed {seed}: the server's handshake");
            Assert.That(pair.Server.IsAuthenticated, Is.True, $"seed {seed}");
            dropped += relay.Seen.Count(d => d.Dropped);
            retransmissions += pair.Client.Retransmissions + pair.Server.Retransmissions;
        }

        TestContext.Out.WriteLine($"{Handshakes} handshakes at {LossRate:P0} loss: {dropped} datagrams dropped, {retransmissions} flights retransmitted");
        Assert.Multiple(() =>
        {
            Assert.That(dropped, Is.GreaterThan(0), "the relay did lose datagrams");
            Assert.That(retransmissions, Is.GreaterThan(0), "lost flights were retransmitted");
        });
    }
}
