namespace OpenSsl.Dtls;

/// <summary>Who moves a session's datagrams between the UDP socket and OpenSSL.</summary>
public enum DtlsSocketIo
{
    /// <summary>
    /// OpenSSL itself, through <c>BIO_new_dgram</c> on the connected socket (the classic recipe);
    /// .NET only waits for the socket to become readable. The fewest copies and no allocations. But
    /// no datagram can be checked before OpenSSL reads it, and OpenSSL 3.0 ends a session on some
    /// malformed encrypted records (openssl issues 25290, 25389): anyone who can spoof the peer's
    /// address can end the session. Prefer <see cref="Managed"/> on networks you do not trust.
    /// </summary>
    OpenSsl,

    /// <summary>
    /// .NET receives and sends, and hands each datagram to OpenSSL through this library's datagram
    /// BIO; the session is driven by its receive loop, as sessions of a <c>DtlsListener</c> are.
    /// Every datagram's records are checked first, so a forged record cannot end the session.
    /// </summary>
    Managed,
}
