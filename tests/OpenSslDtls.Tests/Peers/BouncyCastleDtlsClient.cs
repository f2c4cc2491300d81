using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// BouncyCastle's DTLS 1.2 client over a connected UDP socket: a peer written by nobody here.
/// It trusts any server certificate (the test checks what it received instead).
/// </summary>
internal static class BouncyCastleDtlsClient
{
    /// <summary>Connects to <paramref name="server"/>, sends <paramref name="payload"/>, returns what came back and the server certificate's DER.</summary>
    public static (byte[] Echo, byte[] ServerCertificate) Echo(IPEndPoint server, byte[] payload, TimeSpan timeout)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(server);
        var client = new EchoClient(new BcTlsCrypto(new SecureRandom()));
        var protocol = new DtlsClientProtocol();
        DtlsTransport transport = protocol.Connect(client, new UdpTransport(socket, (int)timeout.TotalMilliseconds));
        try
        {
            transport.Send(payload, 0, payload.Length);
            byte[] buffer = new byte[transport.GetReceiveLimit()];
            int n = transport.Receive(buffer, 0, buffer.Length, (int)timeout.TotalMilliseconds);
            return (buffer.AsSpan(0, Math.Max(n, 0)).ToArray(), client.ServerCertificate ?? []);
        }
        finally
        {
            transport.Close();
        }
    }

    private sealed class EchoClient(TlsCrypto crypto) : DefaultTlsClient(crypto)
    {
        public byte[]? ServerCertificate { get; set; }

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        public override TlsAuthentication GetAuthentication() => new Authentication(this);

        private sealed class Authentication(EchoClient owner) : TlsAuthentication
        {
            public void NotifyServerCertificate(TlsServerCertificate serverCertificate) =>
                owner.ServerCertificate = serverCertificate.Certificate.GetCertificateAt(0).GetEncoded();

            public TlsCredentials? GetClientCredentials(CertificateRequest certificateRequest) => null;
        }
    }

    /// <summary>BouncyCastle's datagram transport over a connected .NET socket.</summary>
    internal sealed class UdpTransport(Socket socket, int receiveTimeoutMs) : DatagramTransport
    {
        public int GetReceiveLimit() => 1500 - 28;

        public int GetSendLimit() => 1200 - 28;

        public int Receive(byte[] buf, int off, int len, int waitMillis)
        {
            socket.ReceiveTimeout = Math.Max(1, Math.Min(waitMillis, receiveTimeoutMs));
            try
            {
                return socket.Receive(buf, off, len, SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                return -1; // BouncyCastle's "nothing within waitMillis"
            }
        }

        public int Receive(Span<byte> buffer, int waitMillis)
        {
            byte[] temporary = new byte[buffer.Length];
            int n = Receive(temporary, 0, temporary.Length, waitMillis);
            if (n > 0)
            {
                temporary.AsSpan(0, n).CopyTo(buffer);
            }

            return n;
        }

        public void Send(byte[] buf, int off, int len) => socket.Send(buf, off, len, SocketFlags.None);

        public void Send(ReadOnlySpan<byte> buffer) => socket.Send(buffer, SocketFlags.None);

        public void Close()
        {
        }
    }
}
