using System.Net;
using System.Net.Sockets;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Robustness;

/// <summary>Where the server side runs: a session on a connected socket, or a <see cref="DtlsListener"/> (cookie exchange on).</summary>
public enum Topology
{
    Connected,
    Listener,
}

/// <summary>
/// A server (connected sessions or a listener, used only through its public API) behind a
/// <see cref="ChaosRelay"/>, and the client sessions that reach it through the relay.
/// </summary>
internal sealed class RelayedNetwork : IAsyncDisposable
{
    private readonly DtlsContext? _serverContext;
    private readonly DtlsListener? _listener;

    private RelayedNetwork(Topology topology, int seed, DtlsServerOptions serverOptions)
    {
        Topology = topology;
        Relay = new ChaosRelay(seed);
        if (topology == Topology.Listener)
        {
            _listener = DtlsListener.Listen(new DtlsListenerOptions
            {
                LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                ServerOptions = serverOptions,
            });
        }
        else
        {
            _serverContext = new DtlsContext(serverOptions);
        }
    }

    public Topology Topology { get; }

    public ChaosRelay Relay { get; }

    public DtlsListener? Listener => _listener;

    /// <summary>Fast retransmission timers (50 ms doubling to 400 ms), so lossy handshakes finish in test time.</summary>
    public static readonly TimeSpan InitialRetransmit = TimeSpan.FromMilliseconds(50);

    public static readonly TimeSpan MaximumRetransmit = TimeSpan.FromMilliseconds(400);

    public static DtlsServerOptions ServerOptions(int mtu = 1200, TimeSpan? handshakeTimeout = null) => new()
    {
        Certificate = DtlsTestCertificates.EcdsaSelfSigned,
        Mtu = mtu,
        InitialRetransmitTimeout = InitialRetransmit,
        MaximumRetransmitTimeout = MaximumRetransmit,
        HandshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(20),
    };

    public static DtlsClientOptions ClientOptions(int mtu = 1200, bool resumption = false, TimeSpan? handshakeTimeout = null) => new()
    {
        TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned],
        TargetHost = DtlsTestCertificates.Host,
        Mtu = mtu,
        InitialRetransmitTimeout = InitialRetransmit,
        MaximumRetransmitTimeout = MaximumRetransmit,
        HandshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(20),
        AllowSessionResumption = resumption,
    };

    public static RelayedNetwork Create(Topology topology, int seed, DtlsServerOptions serverOptions) => new(topology, seed, serverOptions);

    /// <summary>
    /// A client on a fresh socket reaches the server through a new relay flow; both handshakes run.
    /// Returns the pair and how each side ended (null = success); on a listener, a server that never
    /// handed out the session counts as a <see cref="TimeoutException"/>.
    /// </summary>
    public async Task<RelayedPair> ConnectAsync(
        DtlsContext clientContext,
        Impairments impairments,
        CancellationToken cancellationToken,
        Func<bool, int, ReadOnlyMemory<byte>, bool>? drop = null)
    {
        Socket clientSocket = LoopbackPair.Bound();
        clientSocket.Connect(Relay.EndPoint);
        Socket? serverSocket = null;
        RelayFlow flow;
        DtlsSession? serverSession = null;
        if (_listener is not null)
        {
            flow = Relay.Attach(clientSocket.LocalEndPoint!, _listener.LocalEndPoint, impairments, drop);
        }
        else
        {
            serverSocket = LoopbackPair.Bound();
            flow = Relay.Attach(clientSocket.LocalEndPoint!, serverSocket.LocalEndPoint!, impairments, drop);
            serverSocket.Connect(flow.ServerFacing);
            serverSession = new DtlsSession(_serverContext!, serverSocket);
        }

        var client = new DtlsSession(clientContext, clientSocket);
        var pair = new RelayedPair(client, clientSocket, serverSocket, flow);
        pair.Server = serverSession;
        Task<Exception?> serverSide = serverSession is not null
            ? LoopbackPair.CaptureAsync(() => serverSession.AcceptAsync(cancellationToken))
            : Task.FromResult<Exception?>(null);
        pair.ClientFailure = await LoopbackPair.CaptureAsync(() => client.ConnectAsync(cancellationToken));
        if (serverSession is null && pair.ClientFailure is null)
        {
            pair.Server = await AcceptFromAsync(flow.ServerFacing, clientContext.Options.HandshakeTimeout, cancellationToken);
            pair.ServerFailure = pair.Server is null ? new TimeoutException("the listener did not hand out the session") : null;
        }
        else
        {
            pair.ServerFailure = await serverSide;
        }

        return pair;
    }

    // The listener hands out sessions in the order they complete; a session for another flow (a
    // client that failed while the server finished) is disposed.
    private async Task<DtlsSession?> AcceptFromAsync(IPEndPoint remote, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                DtlsSession session = await _listener!.AcceptAsync(deadline.Token);
                if (remote.Equals(session.RemoteEndPoint))
                {
                    return session;
                }

                await session.DisposeAsync();
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        Relay.Dispose();
        _serverContext?.Dispose();
    }
}

/// <summary>A client session and its server session (null if the listener never handed it out), connected through one relay flow.</summary>
internal sealed class RelayedPair(DtlsSession client, Socket clientSocket, Socket? serverSocket, RelayFlow flow) : IAsyncDisposable
{
    public DtlsSession Client { get; } = client;

    public DtlsSession? Server { get; set; }

    public RelayFlow Flow { get; } = flow;

    public Exception? ClientFailure { get; set; }

    public Exception? ServerFailure { get; set; }

    public bool Succeeded => ClientFailure is null && ServerFailure is null && Server is not null;

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        clientSocket.Dispose();
        serverSocket?.Dispose();
        Flow.Dispose();
    }
}
