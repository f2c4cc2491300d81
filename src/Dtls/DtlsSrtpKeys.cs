namespace OpenSsl.Dtls;

/// <summary>
/// The SRTP master keys and salts a DTLS-SRTP handshake produced (RFC 5764 §4.2), from
/// <see cref="DtlsSession.GetSrtpKeys"/>. The client protects what it sends with the client key
/// and salt; the server with the server key and salt.
/// </summary>
/// <param name="Profile">The negotiated profile's OpenSSL name ("SRTP_AES128_CM_SHA1_80").</param>
/// <param name="ClientKey">client_write_SRTP_master_key.</param>
/// <param name="ClientSalt">client_write_SRTP_master_salt.</param>
/// <param name="ServerKey">server_write_SRTP_master_key.</param>
/// <param name="ServerSalt">server_write_SRTP_master_salt.</param>
public sealed record DtlsSrtpKeys(string Profile, byte[] ClientKey, byte[] ClientSalt, byte[] ServerKey, byte[] ServerSalt)
{
    /// <summary>
    /// Master key and salt lengths in bytes per profile: RFC 5764 §4.1.2 (AES-CM and NULL 16/14),
    /// RFC 7714 §12 (AEAD AES-GCM 16/12 and 32/12), RFC 8269 §6 (ARIA).
    /// </summary>
    internal static (int Key, int Salt) Lengths(string profile) => profile switch
    {
        "SRTP_AES128_CM_SHA1_80" or "SRTP_AES128_CM_SHA1_32" or "SRTP_NULL_SHA1_80" or "SRTP_NULL_SHA1_32" => (16, 14),
        "SRTP_AEAD_AES_128_GCM" => (16, 12),
        "SRTP_AEAD_AES_256_GCM" => (32, 12),
        "SRTP_ARIA_128_CTR_HMAC_SHA1_80" or "SRTP_ARIA_128_CTR_HMAC_SHA1_32" => (16, 14),
        "SRTP_ARIA_256_CTR_HMAC_SHA1_80" or "SRTP_ARIA_256_CTR_HMAC_SHA1_32" => (32, 14),
        "SRTP_AEAD_ARIA_128_GCM" => (16, 12),
        "SRTP_AEAD_ARIA_256_GCM" => (32, 12),
        _ => throw new InvalidOperationException($"The key and salt lengths of SRTP profile '{profile}' are not known."),
    };
}
