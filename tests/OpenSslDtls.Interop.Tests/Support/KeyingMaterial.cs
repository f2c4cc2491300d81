using OpenSsl.Dtls;

namespace OpenSslDtls.Interop.Tests.Support;

/// <summary>
/// The one place the tests call our RFC 5705 exporter (no context, as RFC 5764 §4.2 and the peers' tools use it).
/// </summary>
internal static class KeyingMaterial
{
    /// <summary>The DTLS-SRTP exporter label (RFC 5764 section 4.2).</summary>
    public const string SrtpLabel = "EXTRACTOR-dtls_srtp";

    /// <summary>Exports <paramref name="length"/> bytes under <paramref name="label"/> with no context (what openssl -keymatexport and gnutls --keymatexport do).</summary>
    public static byte[] Export(DtlsSession session, string label, int length) =>
        session.ExportKeyingMaterial(label, length);

    /// <summary>The SRTP keying material length of a profile (RFC 5764 section 4.2: 2 x (key + salt)).</summary>
    public static int SrtpLength(string profile) => profile switch
    {
        "SRTP_AES128_CM_SHA1_80" or "SRTP_AES128_CM_SHA1_32" => 2 * (16 + 14),
        "SRTP_AEAD_AES_128_GCM" => 2 * (16 + 12),
        "SRTP_AEAD_AES_256_GCM" => 2 * (32 + 12),
        _ => throw new ArgumentOutOfRangeException(nameof(profile), profile, "unknown SRTP profile"),
    };
}
