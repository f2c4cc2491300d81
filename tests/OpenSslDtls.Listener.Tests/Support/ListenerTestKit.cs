using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Listener.Tests.Support;

/// <summary>Certificates, options, clients and waits shared by the listener tests. Loopback only.</summary>
internal static class ListenerTestKit
{
    public const string Host = "localhost";

    private static readonly Lazy<X509Certificate2> LazyCertificate = new(() => CreateCertificate());

    /// <summary>A self-signed ECDSA P-256 server certificate for localhost and 127.0.0.1, made once per run.</summary>
    public static X509Certificate2 Certificate => LazyCertificate.Value;

    public static DtlsServerOptions ServerOptions(TimeSpan? handshakeTimeout = null) => new()
    {
        Certificate = Certificate,
        HandshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(10),
        // Tests that count handshakes want full ones.
        SessionCacheSize = 0,
        EnableSessionTickets = false,
    };

    public static DtlsListenerOptions Options(
        DtlsServerOptions? server = null,
        int maxSessions = 10_000,
        int maxPending = 1_000,
        TimeSpan? idleTimeout = null,
        int maxQueued = 256,
        int maxDatagramSize = 65_507,
        TimeSpan? cookieRotation = null,
        int maxPendingPerAddress = 32,
        int maxPendingPerPrefix = 256,
        TimeSpan? pendingTimeoutWhenFull = null,
        int maxReassembly = 65_536,
        long maxQueuedBytes = 64L * 1024 * 1024,
        TimeSpan? cookieLifetime = null,
        System.Net.IPAddress? address = null) => new()
        {
            LocalEndPoint = new IPEndPoint(address ?? IPAddress.Loopback, 0),
            ServerOptions = server ?? ServerOptions(),
            MaxSessions = maxSessions,
            MaxPendingHandshakes = maxPending,
            IdleTimeout = idleTimeout ?? TimeSpan.FromMinutes(5),
            MaxQueuedDatagramsPerSession = maxQueued,
            MaxDatagramSize = maxDatagramSize,
            CookieSecretRotation = cookieRotation ?? TimeSpan.FromMinutes(5),
            MaxPendingHandshakesPerAddress = maxPendingPerAddress,
            MaxPendingHandshakesPerPrefix = maxPendingPerPrefix,
            PendingHandshakeTimeoutWhenFull = pendingTimeoutWhenFull ?? TimeSpan.FromSeconds(5),
            MaxHandshakeReassemblyBytes = maxReassembly,
            MaxQueuedBytes = maxQueuedBytes,
            CookieLifetime = cookieLifetime ?? TimeSpan.FromSeconds(30),
        };

    public static DtlsContext ClientContext(TimeSpan? handshakeTimeout = null) => new(new DtlsClientOptions
    {
        TrustedCertificates = [Certificate],
        TargetHost = Host,
        AllowSessionResumption = false,
        HandshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(20),
    });

    /// <summary>A client over a socket the test keeps, so that it can also send raw datagrams from the client's address.</summary>
    public static Task<Client> ConnectAsync(DtlsListener listener, DtlsContext context, CancellationToken cancellationToken) =>
        ConnectAsync(listener.LocalEndPoint, context, cancellationToken);

    /// <summary>A client of <paramref name="server"/> (a listener or a relay in front of one), from <paramref name="from"/> (default 127.0.0.1).</summary>
    public static async Task<Client> ConnectAsync(IPEndPoint server, DtlsContext context, CancellationToken cancellationToken, IPAddress? from = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(from ?? IPAddress.Loopback, 0));
        socket.Connect(server);
        var session = new DtlsSession(context, socket);
        try
        {
            await session.ConnectAsync(cancellationToken);
            return new Client(session, socket);
        }
        catch
        {
            session.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="payload"/> and checks that the same bytes come back within a few seconds.</summary>
    public static async Task EchoAsync(DtlsSession session, byte[] payload, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await session.SendAsync(payload, timeout.Token);
        byte[] back = new byte[payload.Length + 100];
        int n = await session.ReceiveAsync(back, timeout.Token);
        Assert.That(back.AsSpan(0, n).SequenceEqual(payload), Is.True, $"echo of {payload.Length} bytes came back as {n} different bytes");
    }

    /// <summary>
    /// <see cref="EchoAsync"/> that sends again (up to five times, 2 s each) when no echo comes: for a
    /// datagram that UDP may lose legitimately (a client socket flooded by the test, the moment a
    /// restarted client's new association replaces the old), so that the test checks what it is about.
    /// </summary>
    public static async Task EchoWithRetriesAsync(DtlsSession session, byte[] payload, DtlsListener listener, CancellationToken ct)
    {
        byte[] back = new byte[payload.Length + 100];
        for (int attempt = 0; attempt < 5; attempt++)
        {
            await session.SendAsync(payload, ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                int n = await session.ReceiveAsync(back, timeout.Token);
                Assert.That(back.AsSpan(0, n).SequenceEqual(payload), Is.True);
                return;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                TestContext.Out.WriteLine($"echo attempt {attempt} got no reply; {listener.Statistics}");
            }
        }

        Assert.Fail($"no echo in 5 attempts; {listener.Statistics}");
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        DateTime end = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > end)
            {
                return condition();
            }

            await Task.Delay(20, cancellationToken);
        }

        return true;
    }

    /// <summary>A UDP socket on loopback, not connected: sends raw datagrams to the listener and reads its replies.</summary>
    public static Socket RawSocket(IPAddress? from = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(from ?? IPAddress.Loopback, 0));
        return socket;
    }

    /// <summary>The next datagram on <paramref name="socket"/>, or null if none arrives within <paramref name="timeout"/>.</summary>
    public static async Task<byte[]?> ReceiveAsync(Socket socket, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        byte[] buffer = new byte[65536];
        try
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return buffer[..n];
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>A self-signed ECDSA P-256 certificate named CN=<paramref name="commonName"/> with the SANs localhost and 127.0.0.1.</summary>
    public static X509Certificate2 CreateCertificate(string commonName = Host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(Host);
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Through PKCS#12 so that the key is exportable on every OS.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }

    public sealed class Client(DtlsSession session, Socket socket) : IDisposable
    {
        public DtlsSession Session { get; } = session;

        public Socket Socket { get; } = socket;

        public void Dispose()
        {
            Session.Dispose();
            Socket.Dispose();
        }
    }
}
