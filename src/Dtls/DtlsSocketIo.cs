namespace OpenSsl.Dtls;

/// <summary>Who moves a session's datagrams between the UDP socket and OpenSSL.</summary>
public enum DtlsSocketIo
{
    /// <summary>
    /// OpenSSL itself, through <c>BIO_new_dgram</c> on the connected socket (the classic recipe);
    /// .NET only waits for the socket to become readable. The fewest copies.
    /// </summary>
    OpenSsl,

    /// <summary>
    /// .NET receives and sends, and hands each datagram to OpenSSL through this library's datagram
    /// BIO; the session is driven by its receive loop, as sessions of a <c>DtlsListener</c> are.
    /// </summary>
    Managed,
}
