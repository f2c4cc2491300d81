using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>Resumption across processes: the client session as bytes (<see cref="DtlsContext.ImportSession"/> takes them back).</summary>
public sealed partial class DtlsSession
{
    /// <summary>
    /// Exports this client session for resumption in a later process (a sleepy or rebooting device):
    /// the DER encoding of its <c>SSL_SESSION</c> (i2d_SSL_SESSION(3)), with the session ID or ticket
    /// the server issued and the master secret. Give it to <see cref="DtlsContext.ImportSession"/>
    /// of a new client context to resume instead of running a full handshake; the equivalent of
    /// <c>openssl s_client -sess_out</c> (which writes the same structure as PEM). The session stays
    /// usable as long as the server keeps it (ticket lifetime or session cache timeout). Call it
    /// after the handshake; a ticket the server sends later is not in it.
    /// <para>
    /// Security: the bytes hold the master secret. Store them like a private key (file mode 0600,
    /// encrypted at rest, never logged) and for no longer than the server's session lifetime; see
    /// <see cref="DtlsContext.ImportSession"/>.
    /// </para>
    /// </summary>
    /// <returns>A new array each call (a few hundred bytes; more with a ticket or a client certificate).</returns>
    /// <exception cref="InvalidOperationException">This is a server session, the handshake has not completed, or the server offered nothing to resume (no session ID, no ticket).</exception>
    /// <exception cref="ObjectDisposedException">The session was disposed.</exception>
    public byte[] ExportSession()
    {
        lock (_lock)
        {
            ThrowIfNotEstablished();
            if (_context.IsServer)
            {
                throw new InvalidOperationException("Only a client session can be exported for resumption; a server resumes from its own cache and tickets.");
            }

            using SafeSslSessionHandle session = SSL_get1_session(_ssl);
            if (session.IsInvalid || SSL_SESSION_is_resumable(session) != 1)
            {
                throw new InvalidOperationException($"The session with {PeerName} cannot be resumed: the server issued neither a session ID nor a ticket (or its cache is off), so there is nothing to export.");
            }

            ErrorQueue.Clear();
            return SessionExport.Encode(session);
        }
    }
}
