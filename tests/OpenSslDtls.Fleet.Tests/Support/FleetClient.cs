using System.Net;
using System.Net.Sockets;
using System.Text;
using OpenSsl.Dtls;

namespace OpenSslDtls.Samples.Tests.Fleet.Support;

/// <summary>
/// Our client (OpenSsl.Dtls, in process) through the balancer, from a chosen loopback address so that
/// <c>hash $remote_addr</c> can tell clients apart. Its context keeps its session for resumption, so a
/// reconnection to the balancer offers the ticket of the previous one.
/// </summary>
public sealed class FleetClient : IAsyncDisposable
{
    private readonly IPAddress _from;
    private readonly IPEndPoint _server;
    private readonly DtlsContext _context;
    private Socket? _socket;
    private DtlsSession? _session;

    public FleetClient(IPAddress from, IPEndPoint server, string caFile)
    {
        _from = from;
        _server = server;
        _context = new DtlsContext(new DtlsClientOptions
        {
            CaFile = caFile,
            TargetHost = "localhost",
            AllowSessionResumption = true,
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        });
    }

    /// <summary>The client's address and current port: what nginx sees, and (with <c>proxy_bind 127.0.0.2:$remote_port</c>) the port an instance sees.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket!.LocalEndPoint!;

    public bool IsResumed => _session?.IsResumed ?? false;

    public int Connections { get; private set; }

    /// <summary>A new handshake from a new port (the old session, if any, is dropped without close_notify: its server is gone).</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await CloseAsync();
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(_from, 0));
        _socket.Connect(_server);
        _session = new DtlsSession(_context, _socket);
        await _session.ConnectAsync(cancellationToken);
        Connections++;
    }

    /// <summary>Sends <paramref name="text"/> and waits up to <paramref name="deadline"/> for the same bytes back.</summary>
    /// <exception cref="OperationCanceledException">No echo within the deadline.</exception>
    public async Task<string> EchoAsync(string text, TimeSpan deadline, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(deadline);
        byte[] payload = Encoding.UTF8.GetBytes(text);
        await _session!.SendAsync(payload, timeout.Token);
        byte[] buffer = new byte[2048];
        int n = await _session.ReceiveAsync(buffer, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>Waits up to <paramref name="deadline"/> for the next datagram; 0 means the server closed the session (close_notify).</summary>
    public async Task<int> ReceiveAsync(TimeSpan deadline, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(deadline);
        return await _session!.ReceiveAsync(new byte[2048], timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        _context.Dispose();
    }

    private async Task CloseAsync()
    {
        if (_session is not null)
        {
            await _session.DisposeAsync();
            _session = null;
        }

        _socket?.Dispose();
        _socket = null;
    }
}
