namespace OpenSsl.Dtls.Hosting;

/// <summary>A session handler given as a delegate (<see cref="DtlsListenerBuilder.UseSessionHandler(Func{DtlsSession, CancellationToken, Task})"/>).</summary>
internal sealed class DelegateSessionHandler(Func<DtlsSession, CancellationToken, Task> handle) : IDtlsSessionHandler
{
    public Task HandleAsync(DtlsSession session, CancellationToken cancellationToken) => handle(session, cancellationToken);
}
