using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenSsl.Dtls;

namespace OpenSslDtls.LoadTool;

/// <summary>
/// Memory per idle established session of a <see cref="DtlsListener"/>, split into managed (GC heap)
/// and native (malloc, which is where OpenSSL's objects live). Run with MALLOC_ARENA_MAX=1:
/// mallinfo2 reports the main arena only.
/// </summary>
internal static partial class IdleMemory
{
    /// <summary>
    /// Connects <paramref name="sessions"/> clients twice: to an external server at
    /// <paramref name="external"/> (client side alone, C) and to an in-process listener (both sides,
    /// T); the listener's share per session is (T - C) / N.
    /// </summary>
    public static async Task<int> MeasureAsync(int sessions, IPEndPoint external, CancellationToken cancellationToken)
    {
        using var clientContext = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, AllowSessionResumption = false });
        // Warm up every code path once so that JIT and pools are not counted.
        await (await DtlsClient.ConnectAsync(external, clientContext, cancellationToken)).DisposeAsync();
        (long Managed, long Native, _) = await HoldAsync(sessions, external, clientContext, probe: false, cancellationToken);
        (long Managed, long Native) clientOnly = (Managed, Native);

        using X509Certificate2 certificate = CreateCertificate();
        await using DtlsListener listener = DtlsListener.Listen(new DtlsListenerOptions
        {
            LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            ServerOptions = new DtlsServerOptions { Certificate = certificate },
            MaxSessions = sessions + 1000, // room for the warm-up and the fresh-handshake probes (accepted sessions stay counted until disposed)
            IdleTimeout = TimeSpan.FromMinutes(10),
        });
        var accepted = new List<DtlsSession>(sessions);
        Task acceptLoop = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Add(await listener.AcceptAsync(cancellationToken));
            }
        }, cancellationToken);
        await (await DtlsClient.ConnectAsync(listener.LocalEndPoint, clientContext, cancellationToken)).DisposeAsync();
        (long Managed, long Native, double FreshP99) both = await HoldAsync(sessions, listener.LocalEndPoint, clientContext, probe: true, cancellationToken);
        _ = acceptLoop;

        Console.WriteLine(FormattableString.Invariant(
            $"idle_sessions {sessions} managed_bytes_per_session {(both.Managed - clientOnly.Managed) / sessions} native_bytes_per_session {(both.Native - clientOnly.Native) / sessions} fresh_handshake_p99_ms {both.FreshP99:F1} (client side alone: managed {clientOnly.Managed / sessions} native {clientOnly.Native / sessions})"));
        return 0;
    }

    private static async Task<(long Managed, long Native, double FreshP99)> HoldAsync(int sessions, IPEndPoint server, DtlsContext context, bool probe, CancellationToken cancellationToken)
    {
        (long managed, long native) before = Read();
        var clients = new List<DtlsSession>(sessions);
        for (int i = 0; i < sessions; i++)
        {
            clients.Add(await DtlsClient.ConnectAsync(server, context, cancellationToken));
        }

        (long managed, long native) after = Read();

        // A fresh client still handshakes while the server holds them all (the 100 ms p99 target).
        var fresh = new List<double>();
        for (int i = 0; probe && i < 100; i++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            await (await DtlsClient.ConnectAsync(server, context, cancellationToken)).DisposeAsync();
            fresh.Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        fresh.Sort();
        foreach (DtlsSession client in clients)
        {
            await client.DisposeAsync();
        }

        return (after.managed - before.managed, after.native - before.native, fresh.Count == 0 ? 0 : fresh[(int)(0.99 * fresh.Count)]);
    }

    private static (long Managed, long Native) Read()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        long native = OperatingSystem.IsLinux() ? (long)mallinfo2().uordblks : 0;
        return (managed, native);
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint arena;
        public nuint ordblks;
        public nuint smblks;
        public nuint hblks;
        public nuint hblkhd;
        public nuint usmblks;
        public nuint fsmblks;
        public nuint uordblks;
        public nuint fordblks;
        public nuint keepcost;
    }

    // glibc's allocator statistics; a measuring tool's only native call, outside the library on purpose.
    [LibraryImport("libc")]
    private static partial MallInfo2 mallinfo2();
}
