using BenchmarkDotNet.Attributes;
using OpenSsl.Dtls;

namespace OpenSslDtls.Benchmarks;

/// <summary>A full DTLS 1.2 handshake (ECDSA P-256, no resumption) between two in-process sessions.</summary>
[MemoryDiagnoser]
public class HandshakeBenchmarks
{
    private DtlsContext _serverContext = null!;
    private DtlsContext _clientContext = null!;

    [GlobalSetup]
    public void Setup()
    {
        var certificate = SessionPair.CreateCertificate();
        _serverContext = new DtlsContext(new DtlsServerOptions { Certificate = certificate, SessionCacheSize = 0, EnableSessionTickets = false });
        _clientContext = new DtlsContext(new DtlsClientOptions { TrustedCertificates = [certificate], TargetHost = "localhost", AllowSessionResumption = false });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _serverContext.Dispose();
        _clientContext.Dispose();
    }

    [Benchmark(Description = "full handshake")]
    public async Task Handshake()
    {
        await using SessionPair pair = await SessionPair.ConnectAsync(_serverContext, _clientContext);
    }
}
