namespace OpenSsl.Interop;

/// <summary>libssl: the numeric constants of <c>ssl.h</c>, <c>tls1.h</c> and <c>prov_ssl.h</c> this layer uses.</summary>
public static partial class LibSsl
{
    /// <summary><c>DTLS1_VERSION</c></summary>
    public const int DTLS1_VERSION = 0xFEFF;
    /// <summary><c>DTLS1_2_VERSION</c></summary>
    public const int DTLS1_2_VERSION = 0xFEFD;
    /// <summary><c>DTLS1_3_VERSION</c> (negotiable only with a libssl that implements DTLS 1.3).</summary>
    public const int DTLS1_3_VERSION = 0xFEFC;

    /// <summary><c>SSL_ERROR_NONE</c></summary>
    public const int SSL_ERROR_NONE = 0;
    /// <summary><c>SSL_ERROR_SSL</c></summary>
    public const int SSL_ERROR_SSL = 1;
    /// <summary><c>SSL_ERROR_WANT_READ</c></summary>
    public const int SSL_ERROR_WANT_READ = 2;
    /// <summary><c>SSL_ERROR_WANT_WRITE</c></summary>
    public const int SSL_ERROR_WANT_WRITE = 3;
    /// <summary><c>SSL_ERROR_WANT_X509_LOOKUP</c></summary>
    public const int SSL_ERROR_WANT_X509_LOOKUP = 4;
    /// <summary><c>SSL_ERROR_SYSCALL</c></summary>
    public const int SSL_ERROR_SYSCALL = 5;
    /// <summary><c>SSL_ERROR_ZERO_RETURN</c></summary>
    public const int SSL_ERROR_ZERO_RETURN = 6;

    /// <summary><c>SSL_VERIFY_NONE</c></summary>
    public const int SSL_VERIFY_NONE = 0x00;
    /// <summary><c>SSL_VERIFY_PEER</c></summary>
    public const int SSL_VERIFY_PEER = 0x01;
    /// <summary><c>SSL_VERIFY_FAIL_IF_NO_PEER_CERT</c></summary>
    public const int SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02;

    /// <summary><c>SSL_SENT_SHUTDOWN</c></summary>
    public const int SSL_SENT_SHUTDOWN = 1;
    /// <summary><c>SSL_RECEIVED_SHUTDOWN</c></summary>
    public const int SSL_RECEIVED_SHUTDOWN = 2;

    /// <summary><c>SSL_OP_NO_QUERY_MTU</c>: use the MTU we set instead of asking the BIO.</summary>
    public const ulong SSL_OP_NO_QUERY_MTU = 1UL << 12;
    /// <summary><c>SSL_OP_COOKIE_EXCHANGE</c></summary>
    public const ulong SSL_OP_COOKIE_EXCHANGE = 1UL << 13;
    /// <summary><c>SSL_OP_NO_TICKET</c></summary>
    public const ulong SSL_OP_NO_TICKET = 1UL << 14;
    /// <summary><c>SSL_OP_NO_COMPRESSION</c></summary>
    public const ulong SSL_OP_NO_COMPRESSION = 1UL << 17;
    /// <summary><c>SSL_OP_CIPHER_SERVER_PREFERENCE</c></summary>
    public const ulong SSL_OP_CIPHER_SERVER_PREFERENCE = 1UL << 22;
    /// <summary><c>SSL_OP_NO_RENEGOTIATION</c></summary>
    public const ulong SSL_OP_NO_RENEGOTIATION = 1UL << 30;

    /// <summary><c>SSL_MODE_ENABLE_PARTIAL_WRITE</c></summary>
    public const long SSL_MODE_ENABLE_PARTIAL_WRITE = 0x1;
    /// <summary><c>SSL_MODE_AUTO_RETRY</c></summary>
    public const long SSL_MODE_AUTO_RETRY = 0x4;
    /// <summary><c>SSL_MODE_RELEASE_BUFFERS</c></summary>
    public const long SSL_MODE_RELEASE_BUFFERS = 0x10;

    /// <summary><c>SSL_SESS_CACHE_OFF</c></summary>
    public const int SSL_SESS_CACHE_OFF = 0x0;
    /// <summary><c>SSL_SESS_CACHE_CLIENT</c></summary>
    public const int SSL_SESS_CACHE_CLIENT = 0x1;
    /// <summary><c>SSL_SESS_CACHE_SERVER</c></summary>
    public const int SSL_SESS_CACHE_SERVER = 0x2;

    /// <summary><c>SSL_CTRL_SET_MTU</c></summary>
    public const int SSL_CTRL_SET_MTU = 17;
    /// <summary><c>SSL_CTRL_MODE</c></summary>
    public const int SSL_CTRL_MODE = 33;
    /// <summary><c>SSL_CTRL_SET_MAX_SEND_FRAGMENT</c></summary>
    public const int SSL_CTRL_SET_MAX_SEND_FRAGMENT = 52;
    /// <summary><c>SSL_CTRL_SET_READ_AHEAD</c></summary>
    public const int SSL_CTRL_SET_READ_AHEAD = 41;
    /// <summary><c>SSL_CTRL_SET_SESS_CACHE_SIZE</c></summary>
    public const int SSL_CTRL_SET_SESS_CACHE_SIZE = 42;
    /// <summary><c>SSL_CTRL_SET_SESS_CACHE_MODE</c></summary>
    public const int SSL_CTRL_SET_SESS_CACHE_MODE = 44;
    /// <summary><c>SSL_CTRL_SET_TLSEXT_SERVERNAME_CB</c></summary>
    public const int SSL_CTRL_SET_TLSEXT_SERVERNAME_CB = 53;
    /// <summary><c>SSL_CTRL_SET_TLSEXT_HOSTNAME</c></summary>
    public const int SSL_CTRL_SET_TLSEXT_HOSTNAME = 55;
    /// <summary><c>SSL_CTRL_GET_TLSEXT_TICKET_KEYS</c></summary>
    public const int SSL_CTRL_GET_TLSEXT_TICKET_KEYS = 58;
    /// <summary><c>SSL_CTRL_SET_TLSEXT_TICKET_KEYS</c></summary>
    public const int SSL_CTRL_SET_TLSEXT_TICKET_KEYS = 59;
    /// <summary><c>DTLS_CTRL_GET_TIMEOUT</c></summary>
    public const int DTLS_CTRL_GET_TIMEOUT = 73;
    /// <summary><c>DTLS_CTRL_HANDLE_TIMEOUT</c></summary>
    public const int DTLS_CTRL_HANDLE_TIMEOUT = 74;
    /// <summary><c>SSL_CTRL_CHAIN_CERT</c></summary>
    public const int SSL_CTRL_CHAIN_CERT = 89;
    /// <summary><c>SSL_CTRL_SET_GROUPS_LIST</c></summary>
    public const int SSL_CTRL_SET_GROUPS_LIST = 92;
    /// <summary><c>DTLS_CTRL_SET_LINK_MTU</c></summary>
    public const int DTLS_CTRL_SET_LINK_MTU = 120;
    /// <summary><c>DTLS_CTRL_GET_LINK_MIN_MTU</c></summary>
    public const int DTLS_CTRL_GET_LINK_MIN_MTU = 121;
    /// <summary><c>SSL_CTRL_SET_MIN_PROTO_VERSION</c></summary>
    public const int SSL_CTRL_SET_MIN_PROTO_VERSION = 123;
    /// <summary><c>SSL_CTRL_SET_MAX_PROTO_VERSION</c></summary>
    public const int SSL_CTRL_SET_MAX_PROTO_VERSION = 124;

    /// <summary><c>TLSEXT_NAMETYPE_host_name</c></summary>
    public const int TLSEXT_NAMETYPE_host_name = 0;

    /// <summary><c>SSL_TLSEXT_ERR_OK</c></summary>
    public const int SSL_TLSEXT_ERR_OK = 0;
    /// <summary><c>SSL_TLSEXT_ERR_ALERT_FATAL</c></summary>
    public const int SSL_TLSEXT_ERR_ALERT_FATAL = 2;
    /// <summary><c>SSL_TLSEXT_ERR_NOACK</c></summary>
    public const int SSL_TLSEXT_ERR_NOACK = 3;

    /// <summary><c>SSL_CB_READ</c></summary>
    public const int SSL_CB_READ = 0x04;
    /// <summary><c>SSL_CB_WRITE</c></summary>
    public const int SSL_CB_WRITE = 0x08;
    /// <summary><c>SSL_CB_ALERT</c></summary>
    public const int SSL_CB_ALERT = 0x4000;
    /// <summary><c>SSL_CB_READ_ALERT</c></summary>
    public const int SSL_CB_READ_ALERT = SSL_CB_ALERT | SSL_CB_READ;
    /// <summary><c>SSL_CB_WRITE_ALERT</c></summary>
    public const int SSL_CB_WRITE_ALERT = SSL_CB_ALERT | SSL_CB_WRITE;
    /// <summary><c>SSL_CB_HANDSHAKE_START</c></summary>
    public const int SSL_CB_HANDSHAKE_START = 0x10;
    /// <summary><c>SSL_CB_HANDSHAKE_DONE</c></summary>
    public const int SSL_CB_HANDSHAKE_DONE = 0x20;

    /// <summary><c>SSL3_RT_CHANGE_CIPHER_SPEC</c></summary>
    public const int SSL3_RT_CHANGE_CIPHER_SPEC = 20;
    /// <summary><c>SSL3_RT_ALERT</c></summary>
    public const int SSL3_RT_ALERT = 21;
    /// <summary><c>SSL3_RT_HANDSHAKE</c></summary>
    public const int SSL3_RT_HANDSHAKE = 22;
    /// <summary><c>SSL3_RT_HEADER</c>: the message callback's pseudo content type for a raw record header.</summary>
    public const int SSL3_RT_HEADER = 0x100;
    /// <summary><c>DTLS1_RT_HEADER_LENGTH</c></summary>
    public const int DTLS1_RT_HEADER_LENGTH = 13;

    /// <summary><c>DTLS1_COOKIE_LENGTH</c> in OpenSSL 3.0: the largest cookie the generate callback may write.</summary>
    public const int DTLS1_COOKIE_LENGTH = 255;

    /// <summary><c>PSK_MAX_IDENTITY_LEN</c></summary>
    public const int PSK_MAX_IDENTITY_LEN = 256;
    /// <summary><c>PSK_MAX_PSK_LEN</c></summary>
    public const int PSK_MAX_PSK_LEN = 512;
}
