using System.Buffers.Binary;

namespace OpenSsl.Dtls;

/// <summary>
/// A structural check of every record in a datagram before a session's <c>SSL</c> sees it, so that
/// a datagram forged with a peer's address cannot end the peer's session. RFC 6347 §4.1.2.7 says
/// invalid records are silently discarded, but OpenSSL 3.x answers some with a fatal alert: an
/// encrypted record shorter than the AEAD's explicit nonce and tag ("internal error", openssl
/// issue 25290), and a record of unknown content type during the handshake (issue 25389). Both are
/// dropped here; anything that passes is still checked (and its MAC verified) by OpenSSL.
/// </summary>
internal static class DtlsRecordFilter
{
    /// <summary>
    /// While the cipher is not yet known (the handshake), encrypted records must hold at least an
    /// AES-GCM/CCM explicit nonce and tag (8 + 16); the only encrypted record then is a Finished
    /// (12 bytes of header and verify_data plus the overhead), which always does.
    /// </summary>
    public const int HandshakeMinimum = 24;

    private const int HeaderLength = 13;

    /// <summary>The shortest encrypted DTLS 1.2 record the negotiated suite can produce (overhead plus one byte would be the least data; the bare overhead is what OpenSSL tolerates).</summary>
    public static int MinimumEncryptedLength(string? cipherSuite, string? protocol)
    {
        if (protocol is not null && protocol != "DTLSv1.2" && protocol != "DTLSv1")
        {
            return 0; // DTLS 1.3 frames records differently; its records are passed through untouched.
        }

        return cipherSuite switch
        {
            null => HandshakeMinimum,
            _ when cipherSuite.Contains("CHACHA20_POLY1305", StringComparison.Ordinal) => 16,
            _ when cipherSuite.Contains("_CCM_8", StringComparison.Ordinal) => 16,
            _ when cipherSuite.Contains("_GCM_", StringComparison.Ordinal) || cipherSuite.EndsWith("_CCM", StringComparison.Ordinal) => 24,
            _ => 0, // CBC suites: OpenSSL discards bad ones silently.
        };
    }

    /// <summary>True if every record in <paramref name="datagram"/> is framed as DTLS and no encrypted record is shorter than <paramref name="minimumEncrypted"/>.</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> datagram, int minimumEncrypted)
    {
        if (datagram.IsEmpty)
        {
            return false;
        }

        while (!datagram.IsEmpty)
        {
            byte type = datagram[0];
            if (type is >= 0x20 and <= 0x3F || type == 25)
            {
                // A DTLS 1.3 unified header or ACK (RFC 9147 §4): not ours to parse.
                return true;
            }

            // change_cipher_spec, alert, handshake, application_data: nothing else is ever valid here.
            if (type is < 20 or > 23 || datagram.Length < HeaderLength || datagram[1] != 0xFE)
            {
                return false;
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(datagram.Slice(11, 2));
            if (HeaderLength + length > datagram.Length)
            {
                return false;
            }

            bool encrypted = datagram[3] != 0 || datagram[4] != 0;
            if (encrypted && length < minimumEncrypted)
            {
                return false;
            }

            datagram = datagram.Slice(HeaderLength + length);
        }

        return true;
    }
}
