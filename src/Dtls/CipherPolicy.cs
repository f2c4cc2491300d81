using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>
/// Checks what OpenSSL actually enabled from a cipher list (<c>SSL_CTX_get_ciphers</c>), since a
/// list string can pull in more than it names ("PSK", "HIGH", "ALL").
/// </summary>
internal static class CipherPolicy
{
    public static void Enforce(SafeSslContextHandle context, DtlsOptions options, string list)
    {
        if (options.InsecureAllowLegacyCipherSuites)
        {
            return;
        }

        var refused = new List<string>();
        nint stack = SSL_CTX_get_ciphers(context);
        int count = stack == 0 ? 0 : LibCrypto.OPENSSL_sk_num(stack);
        for (int i = 0; i < count; i++)
        {
            nint cipher = LibCrypto.OPENSSL_sk_value(stack, i);
            if (!IsModern(cipher))
            {
                refused.Add(SSL_CIPHER_get_name(cipher) ?? "?");
            }
        }

        if (refused.Count > 0)
        {
            throw SettingErrors.Invalid(
                nameof(DtlsOptions.CipherList),
                $"CipherList '{list}' enables suites that are not AEAD with ECDHE, PSK or ECDHE-PSK key exchange: {string.Join(':', refused.Take(8))}" +
                (refused.Count > 8 ? $" and {refused.Count - 8} more. " : ". ") +
                $"Remove them, or set {nameof(DtlsOptions.InsecureAllowLegacyCipherSuites)} to allow them.");
        }
    }

    /// <summary>AEAD (GCM, CCM, CCM_8, ChaCha20-Poly1305) with a key exchange that is ECDHE, PSK or ECDHE-PSK (or a 1.3 suite).</summary>
    private static bool IsModern(nint cipher) =>
        SSL_CIPHER_is_aead(cipher) == 1 &&
        SSL_CIPHER_get_kx_nid(cipher) is NID_kx_ecdhe or NID_kx_psk or NID_kx_ecdhe_psk or NID_kx_any;
}
