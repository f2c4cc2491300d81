using System.Threading.Channels;
using OpenSsl.Dtls;

namespace OpenSslDtls.Interop.Tests.Support;

/// <summary>Our DtlsListener echoing every datagram of every session; the sessions are handed out in the order they were accepted.</summary>
public sealed class EchoListener : IAsyncDisposable
{
    private readonly Channel<DtlsSession> _accepted = Channel.CreateUnbounded<DtlsSession>();
    private readonly List<DtlsSession> _sessions = [];
    private readonly CancellationTokenSource _stop;
    private readonly Task _loop;

    public EchoListener(DtlsListener listener, CancellationToken testToken)
    {
        Listener = listener;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(testToken);
        _loop = RunAsync(_stop.Token);
    }

    public DtlsListener Listener { get; }

    public System.Net.IPEndPoint EndPoint => Listener.LocalEndPoint;

    /// <summary>The next session the listener accepted (bounded by <paramref name="timeout"/>).</summary>
    public async Task<DtlsSession> NextSessionAsync(TimeSpan timeout)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        cts.CancelAfter(timeout);
        try
        {
            return await _accepted.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new NUnit.Framework.AssertionException($"our listener accepted no (further) session within {timeout.TotalSeconds} s");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Listener.DisposeAsync();
        await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(5)));
        DtlsSession[] sessions;
        lock (_sessions)
        {
            sessions = [.. _sessions];
        }

        foreach (DtlsSession session in sessions)
        {
            await session.DisposeAsync();
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                DtlsSession session = await Listener.AcceptAsync(cancellationToken);
                lock (_sessions)
                {
                    _sessions.Add(session);
                }

                _accepted.Writer.TryWrite(session);
                _ = InteropTest.EchoAsync(session, cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or DtlsException)
        {
        }
    }
}
