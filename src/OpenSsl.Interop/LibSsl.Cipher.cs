using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>The cipher suites a context enabled, and what each is made of (SSL_CIPHER_get_name(3)).</summary>
public static partial class LibSsl
{
    /// <summary><c>NID_kx_rsa</c>: static RSA key transport.</summary>
    public const int NID_kx_rsa = 1037;

    /// <summary><c>NID_kx_ecdhe</c></summary>
    public const int NID_kx_ecdhe = 1038;

    /// <summary><c>NID_kx_dhe</c></summary>
    public const int NID_kx_dhe = 1039;

    /// <summary><c>NID_kx_ecdhe_psk</c></summary>
    public const int NID_kx_ecdhe_psk = 1040;

    /// <summary><c>NID_kx_psk</c></summary>
    public const int NID_kx_psk = 1043;

    /// <summary><c>NID_kx_any</c>: a (D)TLS 1.3 suite, whose key exchange is negotiated separately.</summary>
    public const int NID_kx_any = 1063;

    /// <summary><c>STACK_OF(SSL_CIPHER) *SSL_CTX_get_ciphers(const SSL_CTX *ctx)</c> (borrowed; walk it with <see cref="LibCrypto.OPENSSL_sk_num"/>).</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial nint SSL_CTX_get_ciphers(SafeSslContextHandle ctx);

    /// <summary><c>int SSL_CIPHER_is_aead(const SSL_CIPHER *c)</c>: 1 for GCM, CCM, CCM_8 and ChaCha20-Poly1305.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CIPHER_is_aead(nint cipher);

    /// <summary><c>int SSL_CIPHER_get_kx_nid(const SSL_CIPHER *c)</c>: one of the <c>NID_kx_*</c> values.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_CIPHER_get_kx_nid(nint cipher);
}
