using System.Net;
using OpenSsl.Dtls;

namespace OpenSslDtls.Samples.Tests.Coap;

/// <summary>
/// A <see cref="DtlsListener"/> on a free loopback port that accepts one session and echoes its first
/// datagram; the session stays open for the test to inspect (suite, identity, exported keys).
/// </summary>
internal sealed class InProcessEchoServer : IAsyncDisposable
{
    private readonly DtlsListener _listener;
    private readonly CancellationTokenSource _timeout;

    private InProcessEchoServer(DtlsListener listener, TimeSpan timeout)
    {
        _listener = listener;
        _timeout = new CancellationTokenSource(timeout);
        Echoed = EchoOneAsync();
    }

    public int Port => _listener.LocalEndPoint.Port;

    public DtlsListenerStatistics Statistics => _listener.Statistics;

    /// <summary>The session, once it has echoed one datagram (the text echoed alongside).</summary>
    public Task<(DtlsSession Session, byte[] Echoed)> Echoed { get; }

    public static InProcessEchoServer Start(DtlsServerOptions options, TimeSpan timeout) =>
        new(DtlsListener.Listen(new DtlsListenerOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), ServerOptions = options }), timeout);

    public async ValueTask DisposeAsync()
    {
        await _timeout.CancelAsync();
        try
        {
            (DtlsSession session, _) = await Echoed;
            await session.DisposeAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or TimeoutException)
        {
            // Nobody connected, or the handshake failed: nothing to close.
        }

        await _listener.DisposeAsync();
        _timeout.Dispose();
    }

    private async Task<(DtlsSession, byte[])> EchoOneAsync()
    {
        DtlsSession session = await _listener.AcceptAsync(_timeout.Token);
        byte[] buffer = new byte[4096];
        int received = await session.ReceiveAsync(buffer, _timeout.Token);
        await session.SendAsync(buffer.AsMemory(0, received), _timeout.Token);
        return (session, buffer[..received]);
    }
}
