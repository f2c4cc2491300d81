namespace OpenSsl.Dtls;

/// <summary>Rotating what a fleet of listeners shares (docs/deployment.md): the cookie secret and the session-ticket keys.</summary>
public sealed partial class DtlsListener
{
    /// <summary>
    /// Replaces the HelloVerifyRequest cookie secret (<see cref="DtlsListenerOptions.CookieSecret"/>) without
    /// a restart. New cookies are derived from <paramref name="secret"/> at once; the secret it replaces keeps
    /// verifying until the next call, so a client that received a cookie just before the rotation (from this
    /// listener, or from a server of the fleet that has not rotated yet) is not sent a second
    /// HelloVerifyRequest. <see cref="DtlsListenerOptions.CookieLifetime"/> still bounds every cookie. The same
    /// secret again changes nothing. Safe to call from any thread while the listener runs; the bytes are copied.
    /// </summary>
    /// <param name="secret">At least 16 bytes, the same on every server of the fleet.</param>
    /// <exception cref="ArgumentException"><paramref name="secret"/> is shorter than 16 bytes.</exception>
    /// <exception cref="ObjectDisposedException">The listener was disposed.</exception>
    public void UpdateCookieSecret(ReadOnlySpan<byte> secret)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (secret.Length < 16)
        {
            throw new ArgumentException($"The cookie secret must be at least 16 bytes, not {secret.Length}.", nameof(secret));
        }

        Cookies.UpdateSecret(secret);
    }

    /// <summary>
    /// Replaces the session-ticket keys of the listener's server context without a restart; see
    /// <see cref="DtlsContext.UpdateSessionTicketKeys"/> for the layout (80-byte keys, newest first) and for how
    /// long the replaced keys keep decrypting. Needs <see cref="DtlsServerOptions.SessionTicketKeys"/> at creation.
    /// </summary>
    /// <param name="keys">The new keys, newest first: a multiple of 80 bytes, at most 16 keys.</param>
    /// <exception cref="ArgumentException">The keys are empty, not a whole number of 80-byte keys, too many, or two share a name.</exception>
    /// <exception cref="InvalidOperationException">The listener's <see cref="DtlsListenerOptions.ServerOptions"/> had no <see cref="DtlsServerOptions.SessionTicketKeys"/>.</exception>
    /// <exception cref="ObjectDisposedException">The listener was disposed.</exception>
    public void UpdateSessionTicketKeys(ReadOnlySpan<byte> keys)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _context.UpdateSessionTicketKeys(keys);
    }
}
