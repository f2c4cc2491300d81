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

        List<string> refused = [];
        foreach (SslCipherInfo cipher in SSL_CTX_get_ciphers_info(context))
        {
            if (!IsModern(cipher))
            {
                refused.Add(cipher.Name);
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

    /// <summary>
    /// The suites enabled must be ones the configured credentials can run, or every handshake would fail
    /// with "no shared cipher": a pre-shared-key setup needs a PSK suite; a server with a certificate and
    /// no PSK, or a client without PSK, needs a certificate suite.
    /// </summary>
    public static void RequireUsableSuites(SafeSslContextHandle context, DtlsOptions options, bool psk, bool hasCertificate)
    {
        // (D)TLS 1.3 suites (NID_kx_any) are always listed and run with either credential: DTLS 1.2's decide.
        // Loops rather than LINQ over the struct: each generic instantiation was JIT-compiled at the first
        // context's creation, even under ReadyToRun (docs/benchmarks.md, cold start).
        bool pskSuites = false;
        bool certificateSuites = false;
        foreach (SslCipherInfo cipher in SSL_CTX_get_ciphers_info(context))
        {
            if (cipher.KeyExchangeNid != NID_kx_any)
            {
                pskSuites |= IsPsk(cipher);
                certificateSuites |= !IsPsk(cipher);
            }
        }

        string? problem = null;
        if (psk && !pskSuites && !(options.IsServer && hasCertificate))
        {
            problem = "enables no pre-shared-key suite, but PSK is the only credential configured";
        }
        else if (!psk && !certificateSuites)
        {
            problem = options.IsServer
                ? "enables only pre-shared-key suites, but the server has neither PskKeyLookup nor PskKeyLookupAsync"
                : "enables only pre-shared-key suites, but the client has no PskKey";
        }

        if (problem is not null)
        {
            throw SettingErrors.Invalid(nameof(DtlsOptions.CipherList), $"CipherList '{options.CipherList}' {problem}: every handshake would fail with no shared cipher.");
        }
    }

    /// <summary>
    /// OpenSSL 3.2 and newer rate the CCM_8 suites (64-bit tags) at 64 bits of security, below security
    /// level 1, so at the default level (Debian's is 2) they are never negotiated and CoAP's mandatory
    /// TLS_PSK_WITH_AES_128_CCM_8 (RFC 7252 §9.1.3.1) fails with "no shared cipher". When every suite the
    /// context enabled is a pre-shared-key suite and one is CCM_8, the level is lowered to 0: its other
    /// checks (certificate and DH key sizes, signature digests) have nothing to check without
    /// certificates, and the suites and groups are already limited to AEAD and X25519/P-256/P-384. With
    /// certificate suites enabled the level stays, and CCM_8 is not negotiated on those versions
    /// (docs/openssl-versions.md).
    /// </summary>
    public static void AllowCcm8WithoutCertificates(SafeSslContextHandle context)
    {
        // (D)TLS 1.3 suites (NID_kx_any) are always listed; they are not what DTLS 1.2 negotiates.
        int suites = 0;
        bool allPsk = true;
        bool ccm8 = false;
        foreach (SslCipherInfo cipher in SSL_CTX_get_ciphers_info(context))
        {
            if (cipher.KeyExchangeNid != NID_kx_any)
            {
                suites++;
                allPsk &= IsPsk(cipher);
                ccm8 |= cipher.Name.Contains("CCM8", StringComparison.Ordinal);
            }
        }

        if (suites > 0 && allPsk && ccm8)
        {
            SSL_CTX_set_security_level(context, 0);
        }
    }

    private static bool IsPsk(SslCipherInfo cipher) => cipher.KeyExchangeNid is NID_kx_psk or NID_kx_ecdhe_psk;

    /// <summary>AEAD (GCM, CCM, CCM_8, ChaCha20-Poly1305) with a key exchange that is ECDHE, PSK or ECDHE-PSK (or a 1.3 suite).</summary>
    private static bool IsModern(SslCipherInfo cipher) =>
        cipher.IsAead && cipher.KeyExchangeNid is NID_kx_ecdhe or NID_kx_psk or NID_kx_ecdhe_psk or NID_kx_any;
}
