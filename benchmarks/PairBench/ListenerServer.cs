using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenSsl.Dtls;

namespace OpenSslDtls.PairBench;

/// <summary>
/// An echo server on one <see cref="DtlsListener"/>, the twin of native/server.c run with --quiet:
/// an ephemeral self-signed ECDSA P-256 certificate (or --cert/--key PEM files, as the C server's
/// --cert/--key), no logging, one echo loop per session. Prints
/// "listening on 127.0.0.1:PORT" and serves until the process is stopped (run.sh stops it by PID).
/// A line "memory" on stdin prints "memory sessions N managed_bytes M app_buffer_bytes B": the GC
/// heap after a full collection, and how much of it is this application's own echo buffers (one
/// per session), so that run.sh can report the library's share apart from the application's.
/// </summary>
internal static class ListenerServer
{
    private static int s_sessions;
    private static long s_appBufferBytes;

    public static async Task RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        using X509Certificate2? certificate = settings.CertFile.Length > 0 ? null : EphemeralCertificate();
        DtlsServerOptions serverOptions = certificate is null
            ? new DtlsServerOptions { CertificateChainFile = settings.CertFile, PrivateKeyFile = settings.KeyFile }
            : new DtlsServerOptions { Certificate = certificate };
        await using DtlsListener listener = DtlsListener.Listen(new DtlsListenerOptions
        {
            LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            ServerOptions = serverOptions,
            MaxSessions = 20_000,
        });
        Console.WriteLine($"listening on 127.0.0.1:{listener.LocalEndPoint.Port}");
        _ = Task.Run(ReportMemoryOnRequest, cancellationToken);
        while (!cancellationToken.IsCancellationRequested)
        {
            DtlsSession session = await listener.AcceptAsync(cancellationToken);
            _ = EchoAsync(session, cancellationToken);
        }
    }

    private static X509Certificate2 EphemeralCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static void ReportMemoryOnRequest()
    {
        while (Console.In.ReadLine() is { } line)
        {
            if (line == "memory")
            {
                long managed = GC.GetTotalMemory(forceFullCollection: true);
                Console.WriteLine($"memory sessions {Volatile.Read(ref s_sessions)} managed_bytes {managed} app_buffer_bytes {Interlocked.Read(ref s_appBufferBytes)}");
            }
        }
    }

    private static async Task EchoAsync(DtlsSession session, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref s_sessions);
        await using (session)
        {
            // The application's buffer counts in the idle-session memory: sized as a careful
            // application would size it, to the largest datagram the session carries.
            byte[] buffer = new byte[session.MaxDatagramPayload];
            long heapBytes = HeapSize(buffer);
            Interlocked.Add(ref s_appBufferBytes, heapBytes);
            try
            {
                int n;
                while ((n = await session.ReceiveAsync(buffer, cancellationToken)) > 0)
                {
                    await session.SendAsync(buffer.AsMemory(0, n), cancellationToken);
                }
            }
            catch (Exception e) when (e is DtlsException or OperationCanceledException or ObjectDisposedException or TimeoutException)
            {
                // The peer went away or the server stops: the session ends, as in native/server.c.
            }
            finally
            {
                Interlocked.Add(ref s_appBufferBytes, -heapBytes);
            }
        }

        Interlocked.Decrement(ref s_sessions);
    }

    /// <summary>A byte array's size on the 64-bit GC heap: 24 bytes of header and length, the data, rounded up to 8.</summary>
    private static long HeapSize(byte[] array) => (24L + array.Length + 7) & ~7L;
}
