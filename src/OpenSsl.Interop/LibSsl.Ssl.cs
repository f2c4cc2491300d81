using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>libssl: the <c>SSL</c> object: life cycle, handshake, records, what was negotiated.</summary>
public static unsafe partial class LibSsl
{
    /// <summary><c>SSL *SSL_new(SSL_CTX *ctx)</c>; the SSL takes its own reference on the context.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial SafeSslHandle SSL_new(SafeSslContextHandle ctx);

    /// <summary><c>void SSL_free(SSL *ssl)</c>; also frees the BIOs the SSL owns.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_free(nint ssl);

    /// <summary>
    /// <c>void SSL_set_bio(SSL *s, BIO *rbio, BIO *wbio)</c>. With the same BIO for both, the SSL
    /// takes ownership of one reference: call <c>TransferOwnership</c> on the BIO handle afterwards.
    /// </summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_set_bio(SafeSslHandle ssl, SafeBioHandle readBio, SafeBioHandle writeBio);

    /// <summary><c>BIO *SSL_get_rbio(const SSL *s)</c> (borrowed)</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_get_rbio(SafeSslHandle ssl);

    /// <summary><c>void SSL_set_connect_state(SSL *ssl)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_set_connect_state(SafeSslHandle ssl);

    /// <summary><c>void SSL_set_accept_state(SSL *ssl)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_set_accept_state(SafeSslHandle ssl);

    /// <summary><c>int SSL_do_handshake(SSL *ssl)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_do_handshake(SafeSslHandle ssl);

    /// <summary><c>int SSL_connect(SSL *ssl)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_connect(SafeSslHandle ssl);

    /// <summary><c>int SSL_accept(SSL *ssl)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_accept(SafeSslHandle ssl);

    /// <summary><c>int SSL_is_init_finished(const SSL *s)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_is_init_finished(SafeSslHandle ssl);

    /// <summary><c>int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_read_ex(SafeSslHandle ssl, byte* buffer, nuint count, out nuint readBytes);

    /// <summary><c>SSL_read_ex</c> into a span.</summary>
    public static int SSL_read_ex(SafeSslHandle ssl, Span<byte> buffer, out nuint readBytes)
    {
        fixed (byte* p = buffer)
        {
            return SSL_read_ex(ssl, p, (nuint)buffer.Length, out readBytes);
        }
    }

    /// <summary><c>int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_write_ex(SafeSslHandle ssl, byte* buffer, nuint count, out nuint written);

    /// <summary><c>SSL_write_ex</c> from a span.</summary>
    public static int SSL_write_ex(SafeSslHandle ssl, ReadOnlySpan<byte> buffer, out nuint written)
    {
        fixed (byte* p = buffer)
        {
            return SSL_write_ex(ssl, p, (nuint)buffer.Length, out written);
        }
    }

    /// <summary><c>int SSL_peek_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_peek_ex(SafeSslHandle ssl, byte* buffer, nuint count, out nuint readBytes);

    /// <summary><c>int SSL_pending(const SSL *ssl)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_pending(SafeSslHandle ssl);

    /// <summary><c>int SSL_shutdown(SSL *ssl)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_shutdown(SafeSslHandle ssl);

    /// <summary><c>int SSL_get_shutdown(const SSL *ssl)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_get_shutdown(SafeSslHandle ssl);

    /// <summary><c>int SSL_get_error(const SSL *ssl, int ret)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_get_error(SafeSslHandle ssl, int result);

    /// <summary><c>X509 *SSL_get1_peer_certificate(const SSL *s)</c> (owned)</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial SafeX509Handle SSL_get1_peer_certificate(SafeSslHandle ssl);

    /// <summary><c>STACK_OF(X509) *SSL_get_peer_cert_chain(const SSL *s)</c> (borrowed)</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_get_peer_cert_chain(SafeSslHandle ssl);

    /// <summary><c>long SSL_get_verify_result(const SSL *ssl)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_get_verify_result(SafeSslHandle ssl);

    /// <summary><c>void SSL_set_verify(SSL *ssl, int mode, SSL_verify_cb verify_callback)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_set_verify(SafeSslHandle ssl, int mode, delegate* unmanaged<int, nint, int> callback);

    [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_version")]
    private static partial nint SSL_get_version_ptr(SafeSslHandle ssl);

    /// <summary><c>const char *SSL_get_version(const SSL *ssl)</c></summary>
    public static string SSL_get_version(SafeSslHandle ssl) => Marshal.PtrToStringUTF8(SSL_get_version_ptr(ssl)) ?? "unknown";

    /// <summary><c>int SSL_version(const SSL *s)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_version(SafeSslHandle ssl);

    /// <summary><c>const SSL_CIPHER *SSL_get_current_cipher(const SSL *s)</c> (borrowed)</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_get_current_cipher(SafeSslHandle ssl);

    [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CIPHER_get_name")]
    private static partial nint SSL_CIPHER_get_name_ptr(nint cipher);

    /// <summary><c>const char *SSL_CIPHER_get_name(const SSL_CIPHER *cipher)</c></summary>
    public static string? SSL_CIPHER_get_name(nint cipher) => cipher == 0 ? null : Marshal.PtrToStringUTF8(SSL_CIPHER_get_name_ptr(cipher));

    [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_CIPHER_standard_name")]
    private static partial nint SSL_CIPHER_standard_name_ptr(nint cipher);

    /// <summary><c>const char *SSL_CIPHER_standard_name(const SSL_CIPHER *cipher)</c>: the IANA name.</summary>
    public static string? SSL_CIPHER_standard_name(nint cipher) => cipher == 0 ? null : Marshal.PtrToStringUTF8(SSL_CIPHER_standard_name_ptr(cipher));

    /// <summary><c>int SSL_set1_host(SSL *s, const char *hostname)</c>: the name the peer certificate must match.</summary>
    [LibraryImport(Libraries.Ssl, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_set1_host(SafeSslHandle ssl, string host);

    /// <summary><c>long SSL_ctrl(SSL *ssl, int cmd, long larg, void *parg)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_ctrl(SafeSslHandle ssl, int cmd, nint larg, nint parg);

    /// <summary><c>SSL_set_tlsext_host_name(s, name)</c> = <c>SSL_ctrl(s, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, name)</c>: SNI.</summary>
    public static int SSL_set_tlsext_host_name(SafeSslHandle ssl, string name)
    {
        nint text = Marshal.StringToCoTaskMemUTF8(name);
        try
        {
            return (int)SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, text);
        }
        finally
        {
            Marshal.FreeCoTaskMem(text);
        }
    }

    [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_servername")]
    private static partial nint SSL_get_servername_ptr(SafeSslHandle ssl, int type);

    /// <summary><c>const char *SSL_get_servername(const SSL *s, const int type)</c></summary>
    public static string? SSL_get_servername(SafeSslHandle ssl, int type) => Marshal.PtrToStringUTF8(SSL_get_servername_ptr(ssl, type));

    [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_get_servername")]
    private static partial nint SSL_get_servername_ptr(nint ssl, int type);

    /// <summary><c>const char *SSL_get_servername(const SSL *s, const int type)</c>, from inside a callback (the <c>SSL*</c> it was given).</summary>
    public static string? SSL_get_servername(nint ssl, int type) => Marshal.PtrToStringUTF8(SSL_get_servername_ptr(ssl, type));

    /// <summary>
    /// <c>SSL_CTX *SSL_set_SSL_CTX(SSL *ssl, SSL_CTX *ctx)</c>: the SSL takes <paramref name="ctx"/>'s
    /// certificate and key (and a reference to it); returns the new context, or NULL on failure.
    /// Used from the servername callback (SSL_CTX_set_tlsext_servername_callback(3)).
    /// </summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_set_SSL_CTX(nint ssl, SafeSslContextHandle ctx);

    /// <summary><c>SSL_set_mtu(ssl, mtu)</c> = <c>SSL_ctrl(ssl, SSL_CTRL_SET_MTU, mtu, NULL)</c>; needs <c>SSL_OP_NO_QUERY_MTU</c>.</summary>
    public static int SSL_set_mtu(SafeSslHandle ssl, int mtu) => (int)SSL_ctrl(ssl, SSL_CTRL_SET_MTU, mtu, 0);

    /// <summary><c>uint64_t SSL_set_options(SSL *s, uint64_t op)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial ulong SSL_set_options(SafeSslHandle ssl, ulong options);

    /// <summary><c>int SSL_set_ex_data(SSL *ssl, int idx, void *arg)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_set_ex_data(SafeSslHandle ssl, int index, nint data);

    /// <summary><c>void *SSL_get_ex_data(const SSL *ssl, int idx)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_get_ex_data(nint ssl, int index);

    /// <summary><c>SSL_set_app_data(s, arg)</c> = <c>SSL_set_ex_data(s, 0, arg)</c></summary>
    public static int SSL_set_app_data(SafeSslHandle ssl, nint data) => SSL_set_ex_data(ssl, 0, data);

    /// <summary><c>SSL_get_app_data(s)</c> = <c>SSL_get_ex_data(s, 0)</c></summary>
    public static nint SSL_get_app_data(nint ssl) => SSL_get_ex_data(ssl, 0);

    /// <summary><c>int SSL_get_ex_data_X509_STORE_CTX_idx(void)</c>: the index under which a verify callback finds the <c>SSL*</c>.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_get_ex_data_X509_STORE_CTX_idx();

    /// <summary><c>SSL_CTX *SSL_get_SSL_CTX(const SSL *ssl)</c> (borrowed)</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_get_SSL_CTX(nint ssl);

    /// <summary><c>void SSL_get0_alpn_selected(const SSL *ssl, const unsigned char **data, unsigned int *len)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_get0_alpn_selected(SafeSslHandle ssl, out byte* data, out uint length);

    /// <summary><c>SRTP_PROTECTION_PROFILE *SSL_get_selected_srtp_profile(SSL *s)</c> (borrowed; <c>{ const char *name; unsigned long id; }</c>)</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_get_selected_srtp_profile(SafeSslHandle ssl);

    /// <summary>The name of <see cref="SSL_get_selected_srtp_profile"/>'s profile (its <c>name</c> field), or null when none was negotiated.</summary>
    public static string? SSL_get_selected_srtp_profile_name(SafeSslHandle ssl)
    {
        nint profile = SSL_get_selected_srtp_profile(ssl);
        return profile == 0 ? null : Marshal.PtrToStringUTF8(*(nint*)profile);
    }

    /// <summary><c>int SSL_export_keying_material(SSL *s, unsigned char *out, size_t olen, const char *label, size_t llen, const unsigned char *context, size_t contextlen, int use_context)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_export_keying_material(SafeSslHandle ssl, byte* output, nuint outputLength, byte* label, nuint labelLength, byte* context, nuint contextLength, int useContext);

    /// <summary><c>int SSL_session_reused(const SSL *s)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_session_reused(SafeSslHandle ssl);

    /// <summary><c>void SSL_set_psk_client_callback(SSL *ssl, SSL_psk_client_cb_func cb)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_set_psk_client_callback(SafeSslHandle ssl, delegate* unmanaged<nint, byte*, byte*, uint, byte*, uint, uint> callback);

    [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_alert_desc_string_long")]
    private static partial nint SSL_alert_desc_string_long_ptr(int value);

    /// <summary><c>const char *SSL_alert_desc_string_long(int value)</c>: the alert's name ("handshake failure").</summary>
    public static string SSL_alert_desc_string_long(int value) => Marshal.PtrToStringUTF8(SSL_alert_desc_string_long_ptr(value)) ?? "unknown";

    [LibraryImport(Libraries.Ssl, EntryPoint = "SSL_alert_type_string_long")]
    private static partial nint SSL_alert_type_string_long_ptr(int value);

    /// <summary><c>const char *SSL_alert_type_string_long(int value)</c>: "warning" or "fatal".</summary>
    public static string SSL_alert_type_string_long(int value) => Marshal.PtrToStringUTF8(SSL_alert_type_string_long_ptr(value)) ?? "unknown";
}
