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

        List<string> refused = [.. SSL_CTX_get_ciphers_info(context).Where(c => !IsModern(c)).Select(c => c.Name)];
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
    private static bool IsModern(SslCipherInfo cipher) =>
        cipher.IsAead && cipher.KeyExchangeNid is NID_kx_ecdhe or NID_kx_psk or NID_kx_ecdhe_psk or NID_kx_any;
}
