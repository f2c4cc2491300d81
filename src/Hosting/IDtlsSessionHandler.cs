namespace OpenSsl.Dtls.Hosting;

/// <summary>
/// Serves one established DTLS session of a hosted listener. Register it with
/// <see cref="DtlsListenerBuilder.UseSessionHandler{THandler}"/> (or pass a delegate to
/// <see cref="DtlsListenerBuilder.UseSessionHandler(Func{DtlsSession, CancellationToken, Task})"/>).
/// </summary>
public interface IDtlsSessionHandler
{
    /// <summary>
    /// Serves <paramref name="session"/> until it is done. Called once per session, concurrently for
    /// different sessions, on thread-pool threads. The service owns the session: it disposes it (sending
    /// close_notify) when this method returns or throws; an exception is logged (Error) and ends only this session.
    /// A <see cref="TimeoutException"/> is the normal end of an idle session: <see cref="DtlsListenerOptions.IdleTimeout"/>
    /// closed it and <see cref="DtlsSession.ReceiveAsync(Memory{byte}, CancellationToken)"/> threw it; the service logs it
    /// at Information, so a handler may let it escape (or catch it to log its own line).
    /// </summary>
    /// <param name="session">An established session (handshake completed).</param>
    /// <param name="cancellationToken">
    /// Cancelled when the host stops and its shutdown timeout has run out while this session was still
    /// being served (the drain is over; the session is closed next). To end earlier on shutdown, watch
    /// <c>IHostApplicationLifetime.ApplicationStopping</c>.
    /// </param>
    /// <returns>A task that completes when the session is served.</returns>
    Task HandleAsync(DtlsSession session, CancellationToken cancellationToken);
}
