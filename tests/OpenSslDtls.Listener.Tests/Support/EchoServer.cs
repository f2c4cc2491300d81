using OpenSsl.Dtls;

namespace OpenSslDtls.Listener.Tests.Support;

/// <summary>Accepts every session of a listener and echoes each datagram back until the peer closes, then disposes the session.</summary>
internal sealed class EchoServer : IAsyncDisposable
{
    private readonly DtlsListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _accepted;
    private int _closedByPeer;
    private int _resumed;

    private EchoServer(DtlsListener listener)
    {
        _listener = listener;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Accepted => Volatile.Read(ref _accepted);

    public int ClosedByPeer => Volatile.Read(ref _closedByPeer);

    /// <summary>Sessions accepted whose handshake resumed (<see cref="DtlsSession.IsResumed"/>).</summary>
    public int Resumed => Volatile.Read(ref _resumed);

    public static EchoServer Start(DtlsListener listener) => new(listener);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _acceptLoop;
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            DtlsSession session;
            try
            {
                session = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            if (session.IsResumed)
            {
                Interlocked.Increment(ref _resumed);
            }

            _ = EchoAsync(session);
        }
    }

    private async Task EchoAsync(DtlsSession session)
    {
        byte[] buffer = new byte[16384];
        try
        {
            while (true)
            {
                int n = await session.ReceiveAsync(buffer, _stop.Token);
                if (n == 0)
                {
                    Interlocked.Increment(ref _closedByPeer);
                    return;
                }

                await session.SendAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException or TimeoutException)
        {
            // The listener stopped, reaped or replaced the session.
        }
        finally
        {
            session.Dispose();
        }
    }
}
