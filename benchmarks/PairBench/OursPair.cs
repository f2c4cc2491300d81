using System.Diagnostics;
using OpenSsl.Dtls;

namespace OpenSslDtls.PairBench;

/// <summary>OpenSslDtls: two <see cref="DtlsSession"/>s over the connected-socket path.</summary>
internal sealed class OursPair : PairImpl
{
    private const string Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
    private const string Groups = "X25519:P-256"; // P-256 listed: TLS 1.2 ECDSA needs the certificate's curve offered
    private const int Mtu = 1500; // every implementation: a 1,200 B payload fits one record
    private readonly DtlsContext _server;
    private readonly DtlsContext _client;
    private readonly bool _resume;
    private readonly bool _viaListener;
    private readonly DtlsServerOptions _serverOptions;
    private DtlsListener? _listener;
    private LoopbackPair? _sockets;
    private DtlsSession? _serverSession;
    private DtlsSession? _clientSession;
    private Task<(long, long)>? _serverLoop;

    public OursPair(BenchSettings settings)
    {
        _resume = settings.Resume;
        _viaListener = settings.Impl == "ours-listener";
        _serverOptions = new DtlsServerOptions
        {
            CertificateChainFile = settings.CertFile,
            PrivateKeyFile = settings.KeyFile,
            CipherList = Ciphers,
            Groups = Groups,
            SessionCacheSize = _resume ? 1024 : 0,
            EnableSessionTickets = _resume,
            Mtu = Mtu,
        };
        _server = new DtlsContext(_serverOptions);
        _client = new DtlsContext(new DtlsClientOptions
        {
            CaFile = settings.CertFile,
            TargetHost = "localhost",
            CipherList = Ciphers,
            Groups = Groups,
            AllowSessionResumption = _resume,
            Mtu = Mtu,
        });
    }

    /// <summary>The server and client contexts (ConnectionParts builds sessions on them).</summary>
    public (DtlsContext Server, DtlsContext Client) Contexts => (_server, _client);

    public override async Task HandshakeOnceAsync(CancellationToken cancellationToken)
    {
        using var sockets = new LoopbackPair();
        await using var server = new DtlsSession(_server, sockets.Server);
        await using var client = new DtlsSession(_client, sockets.Client);
        ValueTask accept = server.AcceptAsync(cancellationToken);
        await client.ConnectAsync(cancellationToken);
        await accept;
        if (_resume && !client.IsResumed && s_resumedOnce)
        {
            throw new InvalidOperationException("the session was not resumed");
        }

        s_resumedOnce = true;
    }

    private static bool s_resumedOnce;

    public override async Task OpenAsync(bool echo, CancellationToken cancellationToken)
    {
        if (_viaListener)
        {
            // The listener's I/O mode: one unconnected socket, datagrams demultiplexed per peer.
            _listener = DtlsListener.Listen(new DtlsListenerOptions { LocalEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0), ServerOptions = _serverOptions });
            ValueTask<DtlsSession> accepted = _listener.AcceptAsync(cancellationToken);
            _clientSession = await DtlsClient.ConnectAsync(_listener.LocalEndPoint, _client, cancellationToken);
            _serverSession = await accepted;
        }
        else
        {
            _sockets = new LoopbackPair();
            _serverSession = new DtlsSession(_server, _sockets.Server);
            _clientSession = new DtlsSession(_client, _sockets.Client);
            ValueTask accept = _serverSession.AcceptAsync(cancellationToken);
            await _clientSession.ConnectAsync(cancellationToken);
            await accept;
        }

        _serverLoop = ServeAsync(_serverSession, echo, cancellationToken);
    }

    private static async Task<(long, long)> ServeAsync(DtlsSession session, bool echo, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[16384];
        var paced = new PacedReceiver();
        int n;
        while ((n = await session.ReceiveAsync(buffer, cancellationToken)) > EndMark)
        {
            if (echo)
            {
                await session.SendAsync(buffer.AsMemory(0, n), cancellationToken);
            }
            else if (paced.OnDatagram(buffer.AsSpan(0, n)))
            {
                await session.SendAsync(paced.Ack, cancellationToken);
            }
        }

        return (paced.Counted, paced.Last);
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) => _clientSession!.SendAsync(payload, cancellationToken);

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) => _clientSession!.ReceiveAsync(buffer, cancellationToken);

    private CancellationTokenSource _timeout = new();

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // One token source reused while no timeout fires (TryReset), so that the wait allocates nothing.
        if (!_timeout.TryReset())
        {
            _timeout.Dispose();
            _timeout = new CancellationTokenSource();
        }

        _timeout.CancelAfter(timeout);
        try
        {
            return await _clientSession!.ReceiveAsync(buffer, _timeout.Token);
        }
        catch (OperationCanceledException) when (_timeout.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return -1;
        }
    }

    public override async Task<(long Received, long LastTimestamp)> CloseAsync(CancellationToken cancellationToken)
    {
        // A pause lets the receiver drain what is queued, so that the end marks are not dropped with it.
        await Task.Delay(100, cancellationToken);
        byte[] end = new byte[EndMark];
        for (int i = 0; i < 5; i++)
        {
            await _clientSession!.SendAsync(end, cancellationToken);
        }

        return await _serverLoop!.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_clientSession is not null)
        {
            await _clientSession.DisposeAsync();
        }

        if (_serverSession is not null)
        {
            await _serverSession.DisposeAsync();
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        _sockets?.Dispose();
        _timeout.Dispose();
        _server.Dispose();
        _client.Dispose();
    }
}
