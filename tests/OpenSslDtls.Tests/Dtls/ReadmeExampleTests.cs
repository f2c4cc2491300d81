using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// The example of README.md's "Using the library", run as a test so that it stays true. README.md shows
/// this file's using directives that the example needs, then the lines between README-BEGIN and
/// README-END (ReadmeTests checks it), which together are a whole Program.cs (PackageTests builds and runs
/// it against the package); the test only supplies the PEM files and checks the result.
/// </summary>
public sealed class ReadmeExampleTests : DtlsFixture
{
    [Test]
    [CancelAfter(40_000)]
    public async Task Readme_example_echoes_hello(CancellationToken cancellationToken)
    {
        // The example names its files as a reader would have them: server.crt, server.key and ca.crt
        // in the current directory.
        string directory = Path.Combine(DtlsTestCertificates.Directory, "readme");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "server.crt"), DtlsTestCertificates.Server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "server.key"), DtlsTestCertificates.ExportPrivateKeyPem(DtlsTestCertificates.Server));
        File.WriteAllText(Path.Combine(directory, "ca.crt"), DtlsTestCertificates.Ca.ExportCertificatePem());
        string previousDirectory = Environment.CurrentDirectory;
        Environment.CurrentDirectory = directory;
        try
        {
            (string Version, string Reply) result = await RunExampleAsync().WaitAsync(cancellationToken);
            Assert.Multiple(() =>
            {
                Assert.That(result.Version, Is.EqualTo("DTLSv1.2"));
                Assert.That(result.Reply, Is.EqualTo("hello"));
            });
        }
        finally
        {
            Environment.CurrentDirectory = previousDirectory;
        }
    }

    private static async Task<(string Version, string Reply)> RunExampleAsync()
    {
        // README-BEGIN
        // The example gives up after 30 s rather than wait forever (a firewall dropping loopback UDP, say).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        CancellationToken cancellationToken = timeout.Token;

        // Server: one DTLS session on a UDP socket connected to the first client that writes to it.
        using var serverContext = new DtlsContext(new DtlsServerOptions
        {
            CertificateChainFile = "server.crt", // PEM: the server's certificate, then any intermediates
            PrivateKeyFile = "server.key",       // PEM or DER private key
        });
        using var serverSocket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        serverSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        Task server = Task.Run(async () =>
        {
            // Peek at the client's first datagram (its ClientHello) and connect the socket to its sender;
            // the datagram stays queued for the handshake to read.
            SocketReceiveFromResult first = await serverSocket.ReceiveFromAsync(
                new byte[65536], SocketFlags.Peek, new IPEndPoint(IPAddress.Any, 0), cancellationToken);
            serverSocket.Connect(first.RemoteEndPoint);

            await using var session = new DtlsSession(serverContext, serverSocket);
            await session.AcceptAsync(cancellationToken);
            byte[] buffer = new byte[2048];
            int received;
            while ((received = await session.ReceiveAsync(buffer, cancellationToken)) > 0) // 0: the client closed
            {
                await session.SendAsync(buffer.AsMemory(0, received), cancellationToken);
            }
        }, cancellationToken);

        // Client: DtlsClient connects a UDP socket, runs the handshake, and checks the server's
        // certificate against ca.crt and the name "localhost".
        await using DtlsSession client = await DtlsClient.ConnectAsync(
            serverSocket.LocalEndPoint!,
            new DtlsClientOptions { CaFile = "ca.crt", TargetHost = "localhost" },
            cancellationToken);
        await client.SendAsync(Encoding.UTF8.GetBytes("hello"), cancellationToken);
        byte[] reply = new byte[2048];
        int length = await client.ReceiveAsync(reply, cancellationToken);
        Console.WriteLine($"{client.ProtocolVersion} {client.CipherSuite}: {Encoding.UTF8.GetString(reply, 0, length)}");
        await client.ShutdownAsync(cancellationToken); // close_notify: the server's ReceiveAsync returns 0
        await server;
        // README-END

        return (client.ProtocolVersion!, Encoding.UTF8.GetString(reply, 0, length));
    }
}
