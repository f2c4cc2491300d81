using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>The sizes OpenSSL 3 accepts for pre-shared keys and identities, checked when a context is created.</summary>
public static class DtlsPskLimits
{
    /// <summary>
    /// The longest client identity, in bytes: 255. OpenSSL 3.0's <c>tls_construct_cke_psk</c> gives the
    /// client callback a buffer of <c>PSK_MAX_IDENTITY_LEN</c> (256) bytes for a NUL-terminated string,
    /// so 255 bytes plus the terminator is the most it sends. (RFC 4279 allows up to 65535.)
    /// A server accepts identities of up to 256 bytes, OpenSSL's <c>PSK_MAX_IDENTITY_LEN</c>.
    /// </summary>
    public const int MaxIdentityBytes = PSK_MAX_IDENTITY_LEN - 1;

    /// <summary>The longest key, in bytes: OpenSSL's <c>PSK_MAX_PSK_LEN</c> (512).</summary>
    public const int MaxKeyBytes = PSK_MAX_PSK_LEN;
}
