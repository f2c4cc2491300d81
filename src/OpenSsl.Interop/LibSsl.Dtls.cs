using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>libssl: what only DTLS has: cookies and listen, retransmission timers, MTU.</summary>
public static unsafe partial class LibSsl
{
    /// <summary>
    /// <c>int DTLSv1_listen(SSL *s, BIO_ADDR *client)</c>: answers ClientHellos without a valid
    /// cookie with a HelloVerifyRequest and keeps no state; returns 1 when a ClientHello carried a
    /// valid cookie (its sender is written to <paramref name="client"/>), 0 when nothing came.
    /// </summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int DTLSv1_listen(SafeSslHandle ssl, SafeBioAddrHandle client);

    /// <summary>
    /// <c>DTLSv1_get_timeout(ssl, tv)</c> = <c>SSL_ctrl(ssl, DTLS_CTRL_GET_TIMEOUT, 0, tv)</c>:
    /// 1 and the time left until the retransmission timer fires, or 0 when no timer runs.
    /// </summary>
    public static int DTLSv1_get_timeout(SafeSslHandle ssl, out TimeSpan remaining)
    {
        TimeVal tv = default;
        int running = (int)SSL_ctrl(ssl, DTLS_CTRL_GET_TIMEOUT, 0, (nint)(&tv));
        remaining = running == 1 ? tv.ToTimeSpan() : Timeout.InfiniteTimeSpan;
        return running;
    }

    /// <summary>
    /// <c>DTLSv1_handle_timeout(ssl)</c> = <c>SSL_ctrl(ssl, DTLS_CTRL_HANDLE_TIMEOUT, 0, NULL)</c>:
    /// retransmits the last flight if its timer expired; 1 if it did, 0 if nothing was due, -1 on error.
    /// </summary>
    public static int DTLSv1_handle_timeout(SafeSslHandle ssl) => (int)SSL_ctrl(ssl, DTLS_CTRL_HANDLE_TIMEOUT, 0, 0);

    /// <summary><c>void DTLS_set_timer_cb(SSL *s, DTLS_timer_cb cb)</c>: <c>unsigned int cb(SSL *s, unsigned int timer_us)</c> returns the next interval.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void DTLS_set_timer_cb(SafeSslHandle ssl, delegate* unmanaged<nint, uint, uint> callback);

    /// <summary><c>DTLS_set_link_mtu(ssl, mtu)</c> = <c>SSL_ctrl(ssl, DTLS_CTRL_SET_LINK_MTU, mtu, NULL)</c></summary>
    public static int DTLS_set_link_mtu(SafeSslHandle ssl, int mtu) => (int)SSL_ctrl(ssl, DTLS_CTRL_SET_LINK_MTU, mtu, 0);

    /// <summary><c>DTLS_get_link_min_mtu(ssl)</c> = <c>SSL_ctrl(ssl, DTLS_CTRL_GET_LINK_MIN_MTU, 0, NULL)</c></summary>
    public static int DTLS_get_link_min_mtu(SafeSslHandle ssl) => (int)SSL_ctrl(ssl, DTLS_CTRL_GET_LINK_MIN_MTU, 0, 0);

    /// <summary><c>size_t DTLS_get_data_mtu(const SSL *s)</c>: the largest plaintext one record (one datagram) can carry now.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nuint DTLS_get_data_mtu(SafeSslHandle ssl);
}
