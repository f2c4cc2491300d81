using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// Two UDP sockets on 127.0.0.1 connected to each other, a server session on one and a client
/// session on the other. Disposing disposes the sessions, then the sockets (docs/architecture.md, ownership).
/// </summary>
internal sealed class LoopbackPair : IAsyncDisposable
{
    private LoopbackPair(Socket serverSocket, Socket clientSocket, DtlsSession server, DtlsSession client)
    {
        ServerSocket = serverSocket;
        ClientSocket = clientSocket;
        Server = server;
        Client = client;
    }

    public Socket ServerSocket { get; }

    public Socket ClientSocket { get; }

    public DtlsSession Server { get; }

    public DtlsSession Client { get; }

    /// <summary>Two sockets bound to ephemeral ports on 127.0.0.1, each connected to the other.</summary>
    public static (Socket Server, Socket Client) CreateConnectedSockets(int receiveBufferSize = 0)
    {
        Socket a = Bound(receiveBufferSize);
        Socket b = Bound(receiveBufferSize);
        a.Connect(b.LocalEndPoint!);
        b.Connect(a.LocalEndPoint!);
        return (a, b);
    }

    /// <summary>A UDP socket bound to an ephemeral port on 127.0.0.1 (or ::1 for <see cref="AddressFamily.InterNetworkV6"/>).</summary>
    public static Socket Bound(int receiveBufferSize = 0, int port = 0, AddressFamily family = AddressFamily.InterNetwork)
    {
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        if (receiveBufferSize > 0)
        {
            socket.ReceiveBufferSize = receiveBufferSize;
        }

        socket.Bind(new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, port));
        return socket;
    }

    /// <summary>Creates both sessions without handshaking.</summary>
    public static LoopbackPair Create(
        DtlsContext serverContext,
        DtlsContext clientContext,
        int receiveBufferSize = 0)
    {
        (Socket serverSocket, Socket clientSocket) = CreateConnectedSockets(receiveBufferSize);
        return Create(serverContext, clientContext, serverSocket, clientSocket);
    }

    /// <summary>Creates both sessions over the given connected sockets, which the pair then owns.</summary>
    public static LoopbackPair Create(
        DtlsContext serverContext,
        DtlsContext clientContext,
        Socket serverSocket,
        Socket clientSocket)
    {
        DtlsSession? server = null;
        try
        {
            server = new DtlsSession(serverContext, serverSocket);
            var client = new DtlsSession(clientContext, clientSocket);
            return new LoopbackPair(serverSocket, clientSocket, server, client);
        }
        catch
        {
            server?.Dispose();
            serverSocket.Dispose();
            clientSocket.Dispose();
            throw;
        }
    }

    /// <summary>Creates both sessions and completes the handshake; on failure everything is disposed.</summary>
    public static async Task<LoopbackPair> ConnectAsync(
        DtlsContext serverContext,
        DtlsContext clientContext,
        CancellationToken cancellationToken,
        int receiveBufferSize = 0)
    {
        LoopbackPair pair = Create(serverContext, clientContext, receiveBufferSize);
        try
        {
            await pair.HandshakeAsync(cancellationToken);
            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs AcceptAsync and ConnectAsync concurrently; throws the first failure.</summary>
    public async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        Task accept = Server.AcceptAsync(cancellationToken).AsTask();
        Task connect = Client.ConnectAsync(cancellationToken).AsTask();
        await Task.WhenAll(accept, connect);
    }

    /// <summary>Runs both handshakes to completion and reports how each ended (null = success).</summary>
    public async Task<HandshakeOutcome> HandshakeExpectingFailureAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        Task<Exception?> server = CaptureAsync(() => Server.AcceptAsync(cancellationToken));
        Task<Exception?> client = CaptureAsync(() => Client.ConnectAsync(cancellationToken));
        await Task.WhenAll(server, client);
        return new HandshakeOutcome(await server, await client, clock.Elapsed);
    }

    /// <summary>Awaits <paramref name="operation"/> and returns what it threw, or null.</summary>
    public static async Task<Exception?> CaptureAsync(Func<ValueTask> operation)
    {
        try
        {
            await operation();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>Client sends <paramref name="payload"/>, server echoes it, client returns what came back.</summary>
    public Task<byte[]> EchoAsync(byte[] payload, CancellationToken cancellationToken) => EchoAsync(Client, Server, payload, cancellationToken);

    /// <summary><paramref name="client"/> sends <paramref name="payload"/>, <paramref name="server"/> echoes it; returns what came back.</summary>
    public static async Task<byte[]> EchoAsync(DtlsSession client, DtlsSession server, byte[] payload, CancellationToken cancellationToken)
    {
        await client.SendAsync(payload, cancellationToken);
        byte[] buffer = new byte[65536];
        int n = await server.ReceiveAsync(buffer, cancellationToken);
        await server.SendAsync(buffer.AsMemory(0, n), cancellationToken);
        int m = await client.ReceiveAsync(buffer, cancellationToken);
        return buffer.AsSpan(0, m).ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        ClientSocket.Dispose();
        ServerSocket.Dispose();
    }
}

/// <summary>How both sides of a handshake ended: null means it succeeded.</summary>
internal sealed record HandshakeOutcome(Exception? Server, Exception? Client, TimeSpan Elapsed);

/// <summary>
/// Base of every DTLS fixture: remembers the live native and callback handles before the fixture's
/// tests and asserts that they are back to that number afterwards, so that a leak names its fixture.
/// NUnit runs the fixtures one after another (no [Parallelizable] here), which keeps the counts exact.
/// </summary>
public abstract class DtlsFixture
{
    private long _nativeHandles;
    private long _callbackHandles;

    /// <summary>Records the baseline, after warming up process-wide lazies (the datagram BIO method).</summary>
    [OneTimeSetUp]
    public void RecordHandleBaseline()
    {
        WarmUp();
        _nativeHandles = DtlsDiagnostics.LiveNativeHandles;
        _callbackHandles = DtlsDiagnostics.LiveCallbackHandles;
    }

    /// <summary>Every handle this fixture's tests created has been released.</summary>
    [OneTimeTearDown]
    public void NoHandleLeaked()
    {
        Assert.Multiple(() =>
        {
            Assert.That(DtlsDiagnostics.LiveNativeHandles, Is.EqualTo(_nativeHandles), "LiveNativeHandles after the fixture");
            Assert.That(DtlsDiagnostics.LiveCallbackHandles, Is.EqualTo(_callbackHandles), "LiveCallbackHandles after the fixture");
        });
    }

    private static int _warm;

    /// <summary>
    /// Creates (once per process) what the library keeps for the process: the BIO_METHOD of the
    /// datagram BIO is created by the first Managed session and lives on as a counted handle.
    /// </summary>
    internal static void WarmUp()
    {
        if (Interlocked.Exchange(ref _warm, 1) == 1)
        {
            return;
        }

        using var context = new DtlsContext(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });
        (Socket a, Socket b) = LoopbackPair.CreateConnectedSockets();
        using (a)
        using (b)
        using (new DtlsSession(context, a))
        {
        }
    }
}
