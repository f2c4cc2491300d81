using System.Net;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using OpenSsl.Dtls;

namespace OpenSslDtls.Benchmarks;

/// <summary>
/// One datagram from a client to a <see cref="DtlsListener"/>'s session and back, steady state: the
/// listener's I/O mode (one unconnected socket, datagrams handed to the session by the receive
/// loop). MemoryDiagnoser shows the allocations per round trip on both paths, which must be zero.
/// </summary>
[MemoryDiagnoser]
public class ListenerEchoBenchmarks
{
    private DtlsContext _clientContext = null!;
    private DtlsListener _listener = null!;
    private DtlsSession _server = null!;
    private DtlsSession _client = null!;
    private readonly byte[] _payload = new byte[64];
    private readonly byte[] _serverBuffer = new byte[2048];
    private readonly byte[] _clientBuffer = new byte[2048];
    private readonly CancellationTokenSource _cancellation = new();

    [GlobalSetup]
    public void Setup()
    {
        var certificate = SessionPair.CreateCertificate();
        _listener = DtlsListener.Listen(new DtlsListenerOptions
        {
            LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            ServerOptions = new DtlsServerOptions { Certificate = certificate },
        });
        _clientContext = new DtlsContext(new DtlsClientOptions { TrustedCertificates = [certificate], TargetHost = "localhost" });
        ValueTask<DtlsSession> accepted = _listener.AcceptAsync();
        _client = DtlsClient.ConnectAsync(_listener.LocalEndPoint, _clientContext).GetAwaiter().GetResult();
        _server = accepted.AsTask().GetAwaiter().GetResult();
        Random.Shared.NextBytes(_payload);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _server.Dispose();
        _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _clientContext.Dispose();
        _cancellation.Dispose();
    }

    // A pooled ValueTask builder: the benchmark's own state machine must not be counted as the library's allocation.
    [Benchmark(Description = "listener echo 64 B round trip")]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> RoundTrip()
    {
        CancellationToken token = _cancellation.Token;
        await _client.SendAsync(_payload, token);
        int n = await _server.ReceiveAsync(_serverBuffer, token);
        await _server.SendAsync(_serverBuffer.AsMemory(0, n), token);
        return await _client.ReceiveAsync(_clientBuffer, token);
    }
}
