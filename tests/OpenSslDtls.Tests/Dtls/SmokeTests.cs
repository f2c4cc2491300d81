using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

public class SmokeTests
{
    private static X509Certificate2 MakeCert()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    [TestCase(DtlsSocketIo.OpenSsl, DtlsSocketIo.OpenSsl)]
    [TestCase(DtlsSocketIo.Managed, DtlsSocketIo.Managed)]
    [TestCase(DtlsSocketIo.OpenSsl, DtlsSocketIo.Managed)]
    [CancelAfter(20000)]
    public async Task Echo(DtlsSocketIo serverIo, DtlsSocketIo clientIo, CancellationToken ct)
    {
        using X509Certificate2 cert = MakeCert();
        using var serverContext = new DtlsContext(new DtlsServerOptions { Certificate = cert });
        using var clientContext = new DtlsContext(new DtlsClientOptions { TrustedCertificates = [cert], TargetHost = "localhost" });
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        a.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        b.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        a.Connect(b.LocalEndPoint!);
        b.Connect(a.LocalEndPoint!);
        await using var server = new DtlsSession(serverContext, a, serverIo);
        await using var client = new DtlsSession(clientContext, b, clientIo);
        Task accept = server.AcceptAsync(ct).AsTask();
        await client.ConnectAsync(ct);
        await accept;
        Assert.That(client.ProtocolVersion, Is.EqualTo("DTLSv1.2"));
        byte[] payload = RandomNumberGenerator.GetBytes(1000);
        await client.SendAsync(payload, ct);
        byte[] buffer = new byte[2000];
        int n = await server.ReceiveAsync(buffer, ct);
        await server.SendAsync(buffer.AsMemory(0, n), ct);
        byte[] back = new byte[2000];
        int m = await client.ReceiveAsync(back, ct);
        Assert.That(back.AsSpan(0, m).ToArray(), Is.EqualTo(payload));
        await client.ShutdownAsync(ct);
        Assert.That(await server.ReceiveAsync(buffer, ct), Is.Zero);
    }
}
