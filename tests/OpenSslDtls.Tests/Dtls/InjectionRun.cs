using System.Net.Sockets;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// A handshake and two echoes through a relay that injects hand-built datagrams, as an on-path forger with
/// the other side's address would: before the ClientHello reaches the server and before the server's first
/// flight reaches the client, then twice after the handshake. Four rounds reach each side.
/// </summary>
internal static class InjectionRun
{
    /// <summary>Runs it; fails the test if the session does not survive; returns each side's <see cref="DtlsSession.RejectedDatagrams"/>.</summary>
    public static async Task<(long Server, long Client)> HandshakeAndEchoTwiceAsync(
        DtlsContext serverContext, DtlsContext clientContext, IReadOnlyList<byte[]> injected, string label, CancellationToken cancellationToken)
    {
        using Socket serverSocket = LoopbackPair.Bound();
        UdpRelay? relay = null;
        void InjectAll()
        {
            foreach (byte[] bytes in injected)
            {
                relay!.Inject(toClient: true, bytes);
                relay.Inject(toClient: false, bytes);
            }
        }

        relay = new UdpRelay(serverSocket.LocalEndPoint!)
        {
            Drop = (fromClient, index, _) =>
            {
                if (index == 0)
                {
                    InjectAll();
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
            InjectAll();
            byte[] payload = RandomNumberGenerator.GetBytes(100);
            Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload), label);
            InjectAll();
            Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload), label);
            return (pair.Server.RejectedDatagrams, pair.Client.RejectedDatagrams);
        }
    }
}
