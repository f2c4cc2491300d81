namespace OpenSsl.Dtls;

/// <summary>Certificate renewal: new server options for new handshakes while live sessions carry on.</summary>
public sealed partial class DtlsListener
{
    /// <summary>
    /// Replaces the server settings used for handshakes that start from now on (a renewed
    /// certificate, a new key, new trust or cipher settings), without dropping anything: sessions
    /// established before the call, and handshakes already in progress, finish with the settings
    /// they started with (each holds a reference to its own <c>SSL_CTX</c>, which OpenSSL frees with
    /// the last of them). The new options are validated first, exactly as
    /// <see cref="Listen"/> validates <see cref="DtlsListenerOptions.ServerOptions"/>, and copied; on
    /// any error nothing changes. The listener's own limits (<see cref="DtlsListenerOptions"/>) are
    /// not part of it, and neither are its <see cref="DtlsListenerOptions.LoggerFactory"/>,
    /// <see cref="DtlsListenerOptions.MeterFactory"/> and <see cref="DtlsListenerOptions.TimeProvider"/>,
    /// which the new settings' handshakes keep using. Session tickets issued before the call keep resuming: the new settings take
    /// over the ticket keys (see <see cref="DtlsServerOptions.SessionTicketKeys"/>; if the new options
    /// give other keys, the previous ones keep decrypting for one rotation, as
    /// <see cref="UpdateSessionTicketKeys"/> does). Sessions cached by ID are not carried over: such a
    /// client's next connection is a full handshake. Thread-safe; may be called while peers connect (a handshake whose session is
    /// being created at that moment is given the new settings).
    /// </summary>
    /// <param name="serverOptions">The complete server settings for new handshakes (not a difference to apply).</param>
    /// <exception cref="ArgumentNullException"><paramref name="serverOptions"/> is null.</exception>
    /// <exception cref="ArgumentException">A setting is invalid (a certificate without its key, a key that does not match, ...); <see cref="ArgumentException.ParamName"/> names it, and the listener keeps its current settings.</exception>
    /// <exception cref="ObjectDisposedException">The listener was disposed.</exception>
    public void UpdateServerOptions(DtlsServerOptions serverOptions)
    {
        ArgumentNullException.ThrowIfNull(serverOptions);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        // Made as Listen makes its context: with the listener's loggers, meters and clock.
        DtlsContext context = CreateServerContext(_options, serverOptions);
        try
        {
            // Tickets issued under the replaced context keep resuming (docs/deployment.md, rotation).
            context.ContinueTicketsOf(Volatile.Read(ref _context));
        }
        catch
        {
            context.Dispose();
            throw;
        }

        DtlsContext previous = Interlocked.Exchange(ref _context, context);
        // Only this reference goes: every session made from it holds its own (DtlsSession's
        // DangerousAddRef, and OpenSSL's SSL_CTX reference), so live sessions are untouched.
        previous.Dispose();
        if (Volatile.Read(ref _disposed) != 0)
        {
            // Disposed meanwhile: DisposeAsync may have disposed the previous context only.
            context.Dispose();
        }

        ListenerLog.ServerOptionsUpdated(_logger, LocalEndPoint);
    }

    /// <summary>A session for a verified ClientHello, from the current context (retried if an update disposed the one read).</summary>
    private DtlsSession NewSession(ListenerPeer peer)
    {
        while (true)
        {
            DtlsContext context = Volatile.Read(ref _context);
            try
            {
                return new DtlsSession(context, peer, _options.MaxQueuedDatagramsPerSession);
            }
            catch (ObjectDisposedException) when (context != Volatile.Read(ref _context))
            {
                // UpdateServerOptions replaced and disposed it between the read and SSL_new: use the new one.
            }
        }
    }
}
