using System.Net;
using OpenSsl.Interop;

namespace OpenSsl.Dtls;

/// <summary>Resumption across processes: sessions exported by <see cref="DtlsSession.ExportSession"/> (or openssl s_client -sess_out), imported here.</summary>
public sealed partial class DtlsContext
{
    /// <summary>
    /// Makes an exported client session available for resumption: the next session this context
    /// makes to <paramref name="remoteEndPoint"/> (with this context's
    /// <see cref="DtlsClientOptions.TargetHost"/>) offers it (<c>SSL_set_session</c>), and
    /// <see cref="DtlsSession.IsResumed"/> tells whether the server accepted it; a server that no
    /// longer knows it (restarted without shared ticket keys, cache expired) runs a full handshake
    /// instead, which is not an error. The equivalent of <c>openssl s_client -sess_in</c>
    /// (SSL_set_session(3), d2i_SSL_SESSION(3)). It replaces any session this context holds for that
    /// server. Thread-safe.
    /// <para>
    /// Security: the bytes hold the session's master secret; whoever reads them can decrypt the
    /// traffic of the sessions resumed from them and impersonate this client to the server until
    /// the server forgets the session (its ticket lifetime or cache timeout, typically hours). Keep
    /// them as a private key: a file readable by this user only (Unix mode 0600,
    /// <see cref="File.SetUnixFileMode(string, UnixFileMode)"/>), encrypted at rest where the device
    /// allows (a TPM/secure element, or DPAPI/keychain), never logged, and deleted once the server's
    /// lifetime has passed.
    /// </para>
    /// </summary>
    /// <param name="session">The DER bytes <see cref="DtlsSession.ExportSession"/> returned, or the PEM block ("-----BEGIN SSL SESSION PARAMETERS-----") that <c>openssl s_client -sess_out</c> writes, as ASCII bytes.</param>
    /// <param name="remoteEndPoint">The server's address and port, as the later sessions will be connected to it (the socket's remote endpoint).</param>
    /// <exception cref="ArgumentException">The bytes are not an SSL_SESSION, hold trailing bytes, or cannot be resumed (no session ID and no ticket); the message says which.</exception>
    /// <exception cref="InvalidOperationException">This is a server context, or its <see cref="DtlsClientOptions.AllowSessionResumption"/> is false.</exception>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    public void ImportSession(ReadOnlySpan<byte> session, IPEndPoint remoteEndPoint)
    {
        ArgumentNullException.ThrowIfNull(remoteEndPoint);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (Options is not DtlsClientOptions client)
        {
            throw new InvalidOperationException("Sessions are imported into a client context; a server resumes from its own cache and tickets.");
        }

        ClientSessionCache cache = ClientSessions
            ?? throw new InvalidOperationException("This context has AllowSessionResumption = false: it offers no sessions, so an imported one would never be used.");
        SafeSslSessionHandle handle = SessionExport.Decode(session, nameof(session));
        cache.Store(ClientSessionCache.Key(client.TargetHost, remoteEndPoint), handle);
    }
}
