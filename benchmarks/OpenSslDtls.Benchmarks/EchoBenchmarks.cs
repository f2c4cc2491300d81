using System.Net;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using OpenSsl.Dtls;

namespace OpenSslDtls.Benchmarks;

/// <summary>
/// One datagram from client to server and back over loopback, steady state (handshake done in
/// setup), in both I/O modes: two sessions over connected sockets, and a client with a
/// <see cref="DtlsListener"/>'s session (one unconnected socket, datagrams handed over by the
/// listener's receive loop). MemoryDiagnoser shows the managed allocations per round trip, which
/// must be zero. The token can be cancelled, as applications pass one.
/// </summary>
[MemoryDiagnoser]
public class EchoBenchmarks
{
    private DtlsContext _serverContext = null!;
    private DtlsContext _clientContext = null!;
    private SessionPair _pair = null!;
    private DtlsListener _listener = null!;
    private DtlsSession _listenerServer = null!;
    private DtlsSession _listenerClient = null!;
    private readonly byte[] _payload = new byte[1000];
    private readonly byte[] _serverBuffer = new byte[2048];
    private readonly byte[] _clientBuffer = new byte[2048];
    private readonly CancellationTokenSource _cancellation = new();

    [GlobalSetup]
    public void Setup()
    {
        var certificate = SessionPair.CreateCertificate();
        var serverOptions = new DtlsServerOptions { Certificate = certificate };
        _serverContext = new DtlsContext(serverOptions);
        _clientContext = new DtlsContext(new DtlsClientOptions { TrustedCertificates = [certificate], TargetHost = "localhost" });
        _pair = SessionPair.ConnectAsync(_serverContext, _clientContext).GetAwaiter().GetResult();
        _listener = DtlsListener.Listen(new DtlsListenerOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), ServerOptions = serverOptions });
        ValueTask<DtlsSession> accepted = _listener.AcceptAsync();
        _listenerClient = DtlsClient.ConnectAsync(_listener.LocalEndPoint, _clientContext).GetAwaiter().GetResult();
        _listenerServer = accepted.AsTask().GetAwaiter().GetResult();
        Random.Shared.NextBytes(_payload);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pair.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _listenerClient.Dispose();
        _listenerServer.Dispose();
        _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _serverContext.Dispose();
        _clientContext.Dispose();
        _cancellation.Dispose();
    }

    [Benchmark(Description = "echo 1000 B round trip, connected sockets")]
    public ValueTask<int> RoundTrip() => RoundTripAsync(_pair.Client, _pair.Server);

    [Benchmark(Description = "echo 1000 B round trip, through a DtlsListener")]
    public ValueTask<int> ListenerRoundTrip() => RoundTripAsync(_listenerClient, _listenerServer);

    // A pooled ValueTask builder: the benchmark's own state machine must not be counted as the library's allocation.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> RoundTripAsync(DtlsSession client, DtlsSession server)
    {
        CancellationToken token = _cancellation.Token;
        await client.SendAsync(_payload, token);
        int n = await server.ReceiveAsync(_serverBuffer, token);
        await server.SendAsync(_serverBuffer.AsMemory(0, n), token);
        return await client.ReceiveAsync(_clientBuffer, token);
    }
}
