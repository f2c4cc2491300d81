using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenSsl.Dtls;

namespace OpenSslDtls.Benchmarks;

/// <summary>A client and a server session on two connected loopback sockets, handshaken.</summary>
internal sealed class SessionPair : IAsyncDisposable
{
    private readonly Socket _a;
    private readonly Socket _b;

    private SessionPair(DtlsSession server, DtlsSession client, Socket a, Socket b)
    {
        Server = server;
        Client = client;
        _a = a;
        _b = b;
    }

    public DtlsSession Server { get; }

    public DtlsSession Client { get; }

    public static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    public static async Task<SessionPair> ConnectAsync(DtlsContext serverContext, DtlsContext clientContext)
    {
        var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        a.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        b.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        a.Connect(b.LocalEndPoint!);
        b.Connect(a.LocalEndPoint!);
        var server = new DtlsSession(serverContext, a);
        var client = new DtlsSession(clientContext, b);
        Task accept = server.AcceptAsync().AsTask();
        await client.ConnectAsync();
        await accept;
        return new SessionPair(server, client, a, b);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        _a.Dispose();
        _b.Dispose();
    }
}
