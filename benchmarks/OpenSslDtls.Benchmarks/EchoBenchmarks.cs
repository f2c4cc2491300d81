using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using OpenSsl.Dtls;

namespace OpenSslDtls.Benchmarks;

/// <summary>
/// One datagram from client to server and back over loopback, steady state (handshake done in
/// setup). MemoryDiagnoser shows the managed allocations per round trip, which must be zero.
/// </summary>
[MemoryDiagnoser]
public class EchoBenchmarks
{
    private DtlsContext _serverContext = null!;
    private DtlsContext _clientContext = null!;
    private SessionPair _pair = null!;
    private readonly byte[] _payload = new byte[1000];
    private readonly byte[] _serverBuffer = new byte[2048];
    private readonly byte[] _clientBuffer = new byte[2048];

    // A token that can be cancelled, as applications pass: the channel's waiter allocated per receive with one.
    private readonly CancellationTokenSource _cancellation = new();

    [GlobalSetup]
    public void Setup()
    {
        var certificate = SessionPair.CreateCertificate();
        _serverContext = new DtlsContext(new DtlsServerOptions { Certificate = certificate });
        _clientContext = new DtlsContext(new DtlsClientOptions { TrustedCertificates = [certificate], TargetHost = "localhost" });
        _pair = SessionPair.ConnectAsync(_serverContext, _clientContext).GetAwaiter().GetResult();
        Random.Shared.NextBytes(_payload);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pair.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _serverContext.Dispose();
        _clientContext.Dispose();
        _cancellation.Dispose();
    }

    // A pooled ValueTask builder: the benchmark's own state machine must not be counted as the library's allocation.
    [Benchmark(Description = "echo 1000 B round trip")]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> RoundTrip()
    {
        CancellationToken token = _cancellation.Token;
        await _pair.Client.SendAsync(_payload, token);
        int n = await _pair.Server.ReceiveAsync(_serverBuffer, token);
        await _pair.Server.SendAsync(_serverBuffer.AsMemory(0, n), token);
        return await _pair.Client.ReceiveAsync(_clientBuffer, token);
    }
}
