namespace OpenSslDtls.Interop.Tests.Support;

/// <summary>A cipher suite of the matrix, by its name in each stack.</summary>
/// <param name="OpenSsl">OpenSSL's name.</param>
/// <param name="Iana">The RFC name (what <c>DtlsSession.CipherSuite</c> reports; BouncyCastle's constant, mbedTLS's suite name).</param>
/// <param name="GnuTls">A GnuTLS priority string that allows only this suite in DTLS 1.2.</param>
/// <param name="Psk">A pre-shared-key suite (no certificate).</param>
/// <param name="Rsa">Needs the RSA server certificate.</param>
public sealed record Suite(string OpenSsl, string Iana, string GnuTls, bool Psk, bool Rsa)
{
    public override string ToString() => OpenSsl;
}

/// <summary>The suites the issue names, and the refused ones (CBC only).</summary>
internal static class Suites
{
    private const string GnuTlsBase = "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:-CIPHER-ALL:-MAC-ALL";

    public static readonly Suite EcdsaAes128Gcm = new("ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", $"{GnuTlsBase}:+ECDHE-ECDSA:+AES-128-GCM:+AEAD", false, false);
    public static readonly Suite EcdsaAes256Gcm = new("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", $"{GnuTlsBase}:+ECDHE-ECDSA:+AES-256-GCM:+AEAD", false, false);
    public static readonly Suite EcdsaChaCha = new("ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", $"{GnuTlsBase}:+ECDHE-ECDSA:+CHACHA20-POLY1305:+AEAD", false, false);
    public static readonly Suite RsaAes128Gcm = new("ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", $"{GnuTlsBase}:+ECDHE-RSA:+AES-128-GCM:+AEAD", false, true);
    public static readonly Suite PskAes128Gcm = new("PSK-AES128-GCM-SHA256", "TLS_PSK_WITH_AES_128_GCM_SHA256", $"{GnuTlsBase}:+PSK:+AES-128-GCM:+AEAD", true, false);
    public static readonly Suite PskAes128Ccm8 = new("PSK-AES128-CCM8", "TLS_PSK_WITH_AES_128_CCM_8", $"{GnuTlsBase}:+PSK:+AES-128-CCM-8:+AEAD", true, false);
    public static readonly Suite EcdhePskChaCha = new("ECDHE-PSK-CHACHA20-POLY1305", "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", $"{GnuTlsBase}:+ECDHE-PSK:+CHACHA20-POLY1305:+AEAD", true, false);

    /// <summary>CBC with HMAC, which our defaults (AEAD only) refuse.</summary>
    public static readonly Suite EcdsaCbc = new("ECDHE-ECDSA-AES128-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", $"{GnuTlsBase}:+ECDHE-ECDSA:+AES-128-CBC:+SHA256", false, false);

    public static readonly Suite[] Matrix = [EcdsaAes128Gcm, EcdsaAes256Gcm, EcdsaChaCha, RsaAes128Gcm, PskAes128Gcm, PskAes128Ccm8, EcdhePskChaCha];

    public const string PskIdentity = "interop-device";

    /// <summary>The 16-byte key as hex, for the command-line peers.</summary>
    public const string PskKeyHex = "00112233445566778899AABBCCDDEEFF";

    /// <summary>
    /// A fresh copy on every read: BouncyCastle zeroes the PSK array it is handed once the handshake has used it,
    /// which would silently change a shared array for every later test.
    /// </summary>
    public static byte[] PskKey => Convert.FromHexString(PskKeyHex);

    public static readonly string[] SrtpProfiles = ["SRTP_AES128_CM_SHA1_80", "SRTP_AES128_CM_SHA1_32", "SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_256_GCM"];
}
