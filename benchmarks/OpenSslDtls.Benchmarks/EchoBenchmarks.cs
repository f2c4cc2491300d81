using System.Net;
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

    /// <summary>
    /// Round trips per invocation. One invocation per round trip charged the benchmark's own async
    /// state (its state machine's box when a pooled one was not free, BenchmarkDotNet's awaiting of the
    /// returned task) to the library: 14-159 B per round trip that a loop inside the invocation shows
    /// to be 0-1 B.
    /// </summary>
    private const int RoundTrips = 1000;

    [Benchmark(Description = "echo 1000 B round trip, connected sockets", OperationsPerInvoke = RoundTrips)]
    public Task<int> RoundTrip() => RoundTripsAsync(_pair.Client, _pair.Server);

    [Benchmark(Description = "echo 1000 B round trip, through a DtlsListener", OperationsPerInvoke = RoundTrips)]
    public Task<int> ListenerRoundTrip() => RoundTripsAsync(_listenerClient, _listenerServer);

    private async Task<int> RoundTripsAsync(DtlsSession client, DtlsSession server)
    {
        CancellationToken token = _cancellation.Token;
        int received = 0;
        for (int i = 0; i < RoundTrips; i++)
        {
            await client.SendAsync(_payload, token);
            int n = await server.ReceiveAsync(_serverBuffer, token);
            await server.SendAsync(_serverBuffer.AsMemory(0, n), token);
            received += await client.ReceiveAsync(_clientBuffer, token);
        }

        return received;
    }
}
