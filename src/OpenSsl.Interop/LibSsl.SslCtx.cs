using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>libssl: <c>SSL_CTX</c> life cycle and configuration.</summary>
public static unsafe partial class LibSsl
{
    /// <summary><c>const SSL_METHOD *DTLS_method(void)</c>: version-flexible DTLS.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint DTLS_method();

    /// <summary><c>const SSL_METHOD *DTLS_client_method(void)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint DTLS_client_method();

    /// <summary><c>const SSL_METHOD *DTLS_server_method(void)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint DTLS_server_method();

    /// <summary><c>SSL_CTX *SSL_CTX_new(const SSL_METHOD *method)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial SafeSslContextHandle SSL_CTX_new(nint method);

    /// <summary><c>void SSL_CTX_free(SSL_CTX *ctx)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_free(nint ctx);

    /// <summary><c>int SSL_CTX_up_ref(SSL_CTX *ctx)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CTX_up_ref(SafeSslContextHandle ctx);

    /// <summary><c>long SSL_CTX_ctrl(SSL_CTX *ctx, int cmd, long larg, void *parg)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_CTX_ctrl(SafeSslContextHandle ctx, int cmd, nint larg, nint parg);

    /// <summary><c>SSL_CTX_set_min_proto_version(ctx, v)</c> = <c>SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, v, NULL)</c></summary>
    public static int SSL_CTX_set_min_proto_version(SafeSslContextHandle ctx, int version) =>
        (int)SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, version, 0);

    /// <summary><c>SSL_CTX_set_max_proto_version(ctx, v)</c> = <c>SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, v, NULL)</c></summary>
    public static int SSL_CTX_set_max_proto_version(SafeSslContextHandle ctx, int version) =>
        (int)SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, version, 0);

    /// <summary><c>void SSL_CTX_set_security_level(SSL_CTX *ctx, int level)</c> (SSL_CTX_set_security_level(3)).</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_security_level(SafeSslContextHandle ctx, int level);

    /// <summary><c>int SSL_CTX_get_security_level(const SSL_CTX *ctx)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CTX_get_security_level(SafeSslContextHandle ctx);

    /// <summary><c>SSL_CTX_set_mode(ctx, m)</c> = <c>SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, m, NULL)</c></summary>
    public static long SSL_CTX_set_mode(SafeSslContextHandle ctx, long mode) => SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, (nint)mode, 0);

    /// <summary><c>SSL_CTX_set_max_send_fragment(ctx, m)</c> = <c>SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_SEND_FRAGMENT, m, NULL)</c></summary>
    public static long SSL_CTX_set_max_send_fragment(SafeSslContextHandle ctx, long length) => SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_SEND_FRAGMENT, (nint)length, 0);

    /// <summary><c>SSL_CTX_set_read_ahead(ctx, m)</c> = <c>SSL_CTX_ctrl(ctx, SSL_CTRL_SET_READ_AHEAD, m, NULL)</c></summary>
    public static long SSL_CTX_set_read_ahead(SafeSslContextHandle ctx, int yes) => SSL_CTX_ctrl(ctx, SSL_CTRL_SET_READ_AHEAD, yes, 0);

    /// <summary><c>SSL_CTX_set_session_cache_mode(ctx, m)</c> = <c>SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, m, NULL)</c></summary>
    public static long SSL_CTX_set_session_cache_mode(SafeSslContextHandle ctx, int mode) => SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, mode, 0);

    /// <summary><c>SSL_CTX_sess_set_cache_size(ctx, t)</c> = <c>SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_SIZE, t, NULL)</c></summary>
    public static long SSL_CTX_sess_set_cache_size(SafeSslContextHandle ctx, long size) => SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_SIZE, (nint)size, 0);

    /// <summary><c>SSL_CTX_set1_groups_list(ctx, s)</c> = <c>SSL_CTX_ctrl(ctx, SSL_CTRL_SET_GROUPS_LIST, 0, (char *)s)</c></summary>
    public static int SSL_CTX_set1_groups_list(SafeSslContextHandle ctx, string groups)
    {
        nint text = Marshal.StringToCoTaskMemUTF8(groups);
        try
        {
            return (int)SSL_CTX_ctrl(ctx, SSL_CTRL_SET_GROUPS_LIST, 0, text);
        }
        finally
        {
            Marshal.FreeCoTaskMem(text);
        }
    }

    /// <summary><c>SSL_CTX_add1_chain_cert(ctx, x509)</c> = <c>SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN_CERT, 1, x509)</c>; the context takes its own reference.</summary>
    public static int SSL_CTX_add1_chain_cert(SafeSslContextHandle ctx, SafeX509Handle x509) =>
        (int)SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN_CERT, 1, x509.DangerousGetHandle());

    /// <summary><c>SSL_CTX_get_tlsext_ticket_keys(ctx, keys, len)</c> = <c>SSL_CTX_ctrl(ctx, SSL_CTRL_GET_TLSEXT_TICKET_KEYS, len, keys)</c>; fills 80 bytes: name (16), HMAC secret (32), AES key (32). Returns 1, or 0 if <paramref name="keys"/> is not 80 bytes.</summary>
    public static int SSL_CTX_get_tlsext_ticket_keys(SafeSslContextHandle ctx, Span<byte> keys)
    {
        fixed (byte* p = keys)
        {
            return (int)SSL_CTX_ctrl(ctx, SSL_CTRL_GET_TLSEXT_TICKET_KEYS, keys.Length, (nint)p);
        }
    }

    /// <summary><c>SSL_CTX_set_tlsext_ticket_keys(ctx, keys, len)</c> = <c>SSL_CTX_ctrl(ctx, SSL_CTRL_SET_TLSEXT_TICKET_KEYS, len, keys)</c>; 80 bytes: name (16), HMAC secret (32), AES key (32).</summary>
    public static int SSL_CTX_set_tlsext_ticket_keys(SafeSslContextHandle ctx, ReadOnlySpan<byte> keys)
    {
        fixed (byte* p = keys)
        {
            return (int)SSL_CTX_ctrl(ctx, SSL_CTRL_SET_TLSEXT_TICKET_KEYS, keys.Length, (nint)p);
        }
    }

    /// <summary>
    /// <c>int SSL_CTX_set_tlsext_ticket_key_evp_cb(SSL_CTX *ctx, int (*cb)(SSL *s, unsigned char key_name[16],
    /// unsigned char iv[EVP_MAX_IV_LENGTH], EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx, int enc))</c> (OpenSSL 3.0):
    /// the callback picks the session-ticket key. Encrypting (<c>enc</c> 1) it fills the name and IV and returns 1;
    /// decrypting it returns 0 for an unknown name, 1 for a current key, 2 to ask for a renewed ticket, -1 on error.
    /// </summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CTX_set_tlsext_ticket_key_evp_cb(SafeSslContextHandle ctx, delegate* unmanaged<nint, byte*, byte*, nint, nint, int, int> callback);

    /// <summary><c>uint64_t SSL_CTX_set_options(SSL_CTX *ctx, uint64_t op)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial ulong SSL_CTX_set_options(SafeSslContextHandle ctx, ulong options);

    /// <summary><c>uint64_t SSL_CTX_clear_options(SSL_CTX *ctx, uint64_t op)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial ulong SSL_CTX_clear_options(SafeSslContextHandle ctx, ulong options);

    /// <summary><c>uint64_t SSL_CTX_get_options(const SSL_CTX *ctx)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial ulong SSL_CTX_get_options(SafeSslContextHandle ctx);

    /// <summary><c>int SSL_CTX_set_cipher_list(SSL_CTX *ctx, const char *str)</c>: DTLS 1.2 and older suites.</summary>
    [LibraryImport(Libraries.Ssl, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_set_cipher_list(SafeSslContextHandle ctx, string ciphers);

    /// <summary><c>int SSL_CTX_set_ciphersuites(SSL_CTX *ctx, const char *str)</c>: (D)TLS 1.3 suites.</summary>
    [LibraryImport(Libraries.Ssl, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_set_ciphersuites(SafeSslContextHandle ctx, string suites);

    /// <summary><c>int SSL_CTX_use_certificate_chain_file(SSL_CTX *ctx, const char *file)</c></summary>
    [LibraryImport(Libraries.Ssl, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_use_certificate_chain_file(SafeSslContextHandle ctx, string file);

    /// <summary><c>int SSL_CTX_use_PrivateKey_file(SSL_CTX *ctx, const char *file, int type)</c></summary>
    [LibraryImport(Libraries.Ssl, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_use_PrivateKey_file(SafeSslContextHandle ctx, string file, int type);

    /// <summary><c>SSL_FILETYPE_PEM</c></summary>
    public const int SSL_FILETYPE_PEM = 1;

    /// <summary><c>SSL_FILETYPE_ASN1</c></summary>
    public const int SSL_FILETYPE_ASN1 = 2;

    /// <summary><c>int SSL_CTX_use_certificate(SSL_CTX *ctx, X509 *x)</c>; the context takes its own reference.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CTX_use_certificate(SafeSslContextHandle ctx, SafeX509Handle x509);

    /// <summary><c>int SSL_CTX_use_PrivateKey(SSL_CTX *ctx, EVP_PKEY *pkey)</c>; the context takes its own reference.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CTX_use_PrivateKey(SafeSslContextHandle ctx, SafeEvpPKeyHandle key);

    /// <summary><c>int SSL_CTX_check_private_key(const SSL_CTX *ctx)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CTX_check_private_key(SafeSslContextHandle ctx);

    /// <summary><c>int SSL_CTX_load_verify_locations(SSL_CTX *ctx, const char *CAfile, const char *CApath)</c></summary>
    [LibraryImport(Libraries.Ssl, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_load_verify_locations(SafeSslContextHandle ctx, string? caFile, string? caPath);

    /// <summary><c>int SSL_CTX_set_default_verify_paths(SSL_CTX *ctx)</c>: the system trust store.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CTX_set_default_verify_paths(SafeSslContextHandle ctx);

    /// <summary><c>X509_STORE *SSL_CTX_get_cert_store(const SSL_CTX *ctx)</c> (borrowed; lives as long as the context)</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_CTX_get_cert_store(SafeSslContextHandle ctx);

    /// <summary><c>void SSL_CTX_set_verify(SSL_CTX *ctx, int mode, SSL_verify_cb verify_callback)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_verify(SafeSslContextHandle ctx, int mode, delegate* unmanaged<int, nint, int> callback);

    /// <summary>
    /// <c>void SSL_CTX_set_cert_verify_callback(SSL_CTX *ctx, int (*cb)(X509_STORE_CTX *, void *), void *arg)</c>:
    /// replaces the whole chain verification; the callback calls <c>X509_verify_cert</c> itself.
    /// </summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_cert_verify_callback(SafeSslContextHandle ctx, delegate* unmanaged<nint, nint, int> callback, nint arg);

    /// <summary><c>void SSL_CTX_set_verify_depth(SSL_CTX *ctx, int depth)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_verify_depth(SafeSslContextHandle ctx, int depth);

    /// <summary><c>void SSL_CTX_set_cookie_generate_cb(SSL_CTX *ctx, int (*cb)(SSL *ssl, unsigned char *cookie, unsigned int *cookie_len))</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_cookie_generate_cb(SafeSslContextHandle ctx, delegate* unmanaged<nint, byte*, uint*, int> callback);

    /// <summary><c>void SSL_CTX_set_cookie_verify_cb(SSL_CTX *ctx, int (*cb)(SSL *ssl, const unsigned char *cookie, unsigned int cookie_len))</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_cookie_verify_cb(SafeSslContextHandle ctx, delegate* unmanaged<nint, byte*, uint, int> callback);

    /// <summary><c>void SSL_CTX_set_psk_client_callback(SSL_CTX *ctx, SSL_psk_client_cb_func cb)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_psk_client_callback(SafeSslContextHandle ctx, delegate* unmanaged<nint, byte*, byte*, uint, byte*, uint, uint> callback);

    /// <summary><c>void SSL_CTX_set_psk_server_callback(SSL_CTX *ctx, SSL_psk_server_cb_func cb)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_psk_server_callback(SafeSslContextHandle ctx, delegate* unmanaged<nint, byte*, byte*, uint, uint> callback);

    /// <summary><c>int SSL_CTX_use_psk_identity_hint(SSL_CTX *ctx, const char *hint)</c></summary>
    [LibraryImport(Libraries.Ssl, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_use_psk_identity_hint(SafeSslContextHandle ctx, string hint);

    /// <summary><c>int SSL_CTX_set_tlsext_use_srtp(SSL_CTX *ctx, const char *profiles)</c>; returns 0 on success (not 1).</summary>
    [LibraryImport(Libraries.Ssl, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_set_tlsext_use_srtp(SafeSslContextHandle ctx, string profiles);

    /// <summary><c>int SSL_CTX_set_alpn_protos(SSL_CTX *ctx, const unsigned char *protos, unsigned int protos_len)</c>; returns 0 on success (not 1).</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CTX_set_alpn_protos(SafeSslContextHandle ctx, byte* protocols, uint length);

    /// <summary><c>void SSL_CTX_set_alpn_select_cb(SSL_CTX *ctx, SSL_CTX_alpn_select_cb_func cb, void *arg)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_alpn_select_cb(SafeSslContextHandle ctx, delegate* unmanaged<nint, byte**, byte*, byte*, uint, nint, int> callback, nint arg);

    /// <summary><c>int SSL_select_next_proto(unsigned char **out, unsigned char *outlen, const unsigned char *server, unsigned int server_len, const unsigned char *client, unsigned int client_len)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_select_next_proto(byte** output, byte* outputLength, byte* server, uint serverLength, byte* client, uint clientLength);

    /// <summary><c>OPENSSL_NPN_NEGOTIATED</c>: <see cref="SSL_select_next_proto"/> found a common protocol.</summary>
    public const int OPENSSL_NPN_NEGOTIATED = 1;

    /// <summary><c>long SSL_CTX_callback_ctrl(SSL_CTX *ctx, int cmd, void (*fp)(void))</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_CTX_callback_ctrl(SafeSslContextHandle ctx, int cmd, nint callback);

    /// <summary>
    /// <c>SSL_CTX_set_tlsext_servername_callback(ctx, cb)</c> = <c>SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB, cb)</c>
    /// with <c>int cb(SSL *s, int *al, void *arg)</c> (SSL_CTX_set_tlsext_servername_callback(3)).
    /// </summary>
    public static int SSL_CTX_set_tlsext_servername_callback(SafeSslContextHandle ctx, delegate* unmanaged<nint, int*, nint, int> callback) =>
        (int)SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB, (nint)callback);

    /// <summary><c>void SSL_CTX_set_keylog_callback(SSL_CTX *ctx, SSL_CTX_keylog_cb_func cb)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_keylog_callback(SafeSslContextHandle ctx, delegate* unmanaged<nint, byte*, void> callback);

    /// <summary>
    /// <c>void SSL_CTX_set_msg_callback(SSL_CTX *ctx, void (*cb)(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg))</c>:
    /// sees every record header (<c>SSL3_RT_HEADER</c>) and protocol message sent and received.
    /// </summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_msg_callback(SafeSslContextHandle ctx, delegate* unmanaged<int, int, int, byte*, nuint, nint, nint, void> callback);

    /// <summary><c>void SSL_CTX_set_info_callback(SSL_CTX *ctx, void (*cb)(const SSL *ssl, int type, int val))</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_CTX_set_info_callback(SafeSslContextHandle ctx, delegate* unmanaged<nint, int, int, void> callback);

    /// <summary><c>int SSL_CTX_set_session_id_context(SSL_CTX *ctx, const unsigned char *sid_ctx, unsigned int sid_ctx_len)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CTX_set_session_id_context(SafeSslContextHandle ctx, byte* context, uint length);

    /// <summary><c>long SSL_CTX_set_timeout(SSL_CTX *ctx, long t)</c>: session lifetime in seconds.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_CTX_set_timeout(SafeSslContextHandle ctx, nint seconds);

    /// <summary><c>int SSL_CTX_set_ex_data(SSL_CTX *ctx, int idx, void *arg)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CTX_set_ex_data(SafeSslContextHandle ctx, int index, nint data);

    /// <summary><c>void *SSL_CTX_get_ex_data(const SSL_CTX *ctx, int idx)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_CTX_get_ex_data(nint ctx, int index);

    /// <summary><c>SSL_CTX_set_app_data(ctx, arg)</c> = <c>SSL_CTX_set_ex_data(ctx, 0, arg)</c></summary>
    public static int SSL_CTX_set_app_data(SafeSslContextHandle ctx, nint data) => SSL_CTX_set_ex_data(ctx, 0, data);

    /// <summary><c>SSL_CTX_get_app_data(ctx)</c> = <c>SSL_CTX_get_ex_data(ctx, 0)</c></summary>
    public static nint SSL_CTX_get_app_data(nint ctx) => SSL_CTX_get_ex_data(ctx, 0);
}
