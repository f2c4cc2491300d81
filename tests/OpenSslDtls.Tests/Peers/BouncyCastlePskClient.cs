using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// BouncyCastle's DTLS 1.2 PSK client: unlike OpenSSL's and GnuTLS's command-line clients it sends
/// any identity bytes, zero bytes included, so it reaches what no C-string API can.
/// </summary>
internal static class BouncyCastlePskClient
{
    /// <summary>Connects with <paramref name="identity"/> and <paramref name="key"/>, sends <paramref name="payload"/>, returns the echo and the suite.</summary>
    public static (byte[] Echo, int CipherSuite) Echo(IPEndPoint server, byte[] identity, byte[] key, int cipherSuite, byte[] payload, TimeSpan timeout)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(server);
        var client = new PskClient(new BcTlsCrypto(new SecureRandom()), new BasicTlsPskIdentity(identity, key), cipherSuite);
        DtlsTransport transport = new DtlsClientProtocol().Connect(client, new BouncyCastleDtlsClient.UdpTransport(socket, (int)timeout.TotalMilliseconds));
        try
        {
            transport.Send(payload, 0, payload.Length);
            byte[] buffer = new byte[transport.GetReceiveLimit()];
            int n = transport.Receive(buffer, 0, buffer.Length, (int)timeout.TotalMilliseconds);
            return (buffer.AsSpan(0, Math.Max(n, 0)).ToArray(), client.Negotiated);
        }
        finally
        {
            transport.Close();
        }
    }

    private sealed class PskClient(TlsCrypto crypto, TlsPskIdentity identity, int cipherSuite) : Org.BouncyCastle.Tls.PskTlsClient(crypto, identity)
    {
        public int Negotiated { get; private set; }

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => [cipherSuite];

        public override void NotifySelectedCipherSuite(int selectedCipherSuite)
        {
            base.NotifySelectedCipherSuite(selectedCipherSuite);
            Negotiated = selectedCipherSuite;
        }
    }
}
