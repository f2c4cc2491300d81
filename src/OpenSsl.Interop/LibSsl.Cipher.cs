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

    /// <summary>
    /// Walks <see cref="SSL_CTX_get_ciphers"/> and reads each suite with <see cref="SSL_CIPHER_get_name"/>,
    /// <see cref="SSL_CIPHER_is_aead"/> and <see cref="SSL_CIPHER_get_kx_nid"/>: the suites the context
    /// enabled, in its order, without native pointers for the caller to hold.
    /// </summary>
    public static SslCipherInfo[] SSL_CTX_get_ciphers_info(SafeSslContextHandle ctx)
    {
        nint stack = SSL_CTX_get_ciphers(ctx);
        int count = stack == 0 ? 0 : LibCrypto.OPENSSL_sk_num(stack);
        var ciphers = new SslCipherInfo[count];
        for (int i = 0; i < count; i++)
        {
            nint cipher = LibCrypto.OPENSSL_sk_value(stack, i);
            ciphers[i] = new SslCipherInfo(SSL_CIPHER_get_name(cipher) ?? "?", SSL_CIPHER_is_aead(cipher) == 1, SSL_CIPHER_get_kx_nid(cipher));
        }

        return ciphers;
    }
}

/// <summary>One enabled cipher suite: OpenSSL's name, whether it is AEAD, and its key exchange (a <c>NID_kx_*</c> value).</summary>
/// <param name="Name">OpenSSL's name ("ECDHE-ECDSA-AES128-GCM-SHA256").</param>
/// <param name="IsAead"><c>SSL_CIPHER_is_aead</c>: true for GCM, CCM, CCM_8 and ChaCha20-Poly1305.</param>
/// <param name="KeyExchangeNid"><c>SSL_CIPHER_get_kx_nid</c>.</param>
public readonly record struct SslCipherInfo(string Name, bool IsAead, int KeyExchangeNid);
