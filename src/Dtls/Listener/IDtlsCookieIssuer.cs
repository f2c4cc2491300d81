namespace OpenSsl.Dtls;

/// <summary>
/// What OpenSSL's cookie callbacks (<c>SSL_CTX_set_cookie_generate_cb</c>/<c>verify_cb</c>) ask of a
/// session's transport: the listener's HMAC cookie for this transport's peer address. The callbacks
/// reach it through the session the <c>SSL</c>'s app data points to.
/// </summary>
internal interface IDtlsCookieIssuer
{
    /// <summary>Writes the cookie for the peer into <paramref name="destination"/> and returns its length.</summary>
    int WriteCookie(Span<byte> destination);

    /// <summary>True if <paramref name="cookie"/> is one this listener issued to the peer's address and port, under the current or the previous secret.</summary>
    bool VerifyCookie(ReadOnlySpan<byte> cookie);
}
