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

    /// <summary>
    /// True if every record in <paramref name="datagram"/> is framed as DTLS and no encrypted record is shorter than
    /// <paramref name="minimumEncrypted"/>. Lenient about DTLS 1.3 framing (the listener's first look, before it
    /// knows the session); the session's own <see cref="Inspect"/> then applies its <c>dtls13Framing</c>.
    /// </summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> datagram, int minimumEncrypted) =>
        Inspect(datagram, minimumEncrypted, dtls13Framing: true) != RecordVerdict.Malformed;

    /// <summary>
    /// Checks every record of <paramref name="datagram"/>: <see cref="RecordVerdict.Malformed"/> if any is
    /// not framed as DTLS or is an encrypted record shorter than <paramref name="minimumEncrypted"/>;
    /// <see cref="RecordVerdict.HasPlaintextWarnings"/> if it is well formed but holds a plaintext
    /// (epoch 0) warning alert other than close_notify, which <see cref="WithoutPlaintextWarnings"/>
    /// removes. OpenSSL 3.0's DTLS fails a handshake on a single such warning ("too many warn alerts"),
    /// though a warning asks for no action (RFC 5246 §7.2) and GnuTLS carries on; in epoch 0 it is
    /// also unauthenticated, so anyone on the path could forge it.
    /// </summary>
    /// <remarks>
    /// Records framed for DTLS 1.3 (unified header 0x20-0x3F, RFC 9147 §4; ACK 26, §7) or for a connection
    /// ID (tls12_cid 25, RFC 9146) pass untouched only while <paramref name="dtls13Framing"/> is true: the
    /// session may negotiate DTLS 1.3 (its libssl has it and MaximumProtocol allows it) and has not settled
    /// on DTLS 1.2. Elsewhere no peer sends them, and OpenSSL 3.0 to 4.0 end a DTLS 1.2 handshake on one
    /// such plaintext record ("unexpected record", docs/openssl-versions.md), so they are malformed.
    /// </remarks>
    public static RecordVerdict Inspect(ReadOnlySpan<byte> datagram, int minimumEncrypted, bool dtls13Framing)
    {
        if (datagram.IsEmpty)
        {
            return RecordVerdict.Malformed;
        }

        RecordVerdict verdict = RecordVerdict.WellFormed;
        while (!datagram.IsEmpty)
        {
            byte type = datagram[0];
            if (type is >= 0x20 and <= 0x3F || type is 25 or 26)
            {
                // A DTLS 1.3 unified header (RFC 9147 §4), a connection-ID record (RFC 9146) or a DTLS 1.3
                // ACK: framed differently, not ours to parse; OpenSSL checks them, where they can be valid.
                return dtls13Framing ? verdict : RecordVerdict.Malformed;
            }

            // change_cipher_spec, alert, handshake, application_data: nothing else is ever valid here.
            if (type is < 20 or > 23 || datagram.Length < HeaderLength || datagram[1] != 0xFE)
            {
                return RecordVerdict.Malformed;
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(datagram.Slice(11, 2));
            if (HeaderLength + length > datagram.Length)
            {
                return RecordVerdict.Malformed;
            }

            bool encrypted = datagram[3] != 0 || datagram[4] != 0;
            if (encrypted && length < minimumEncrypted)
            {
                return RecordVerdict.Malformed;
            }

            if (!encrypted && !IsValidPlaintext(type, datagram.Slice(HeaderLength, length)))
            {
                return RecordVerdict.Malformed;
            }

            if (IsPlaintextWarning(datagram, encrypted, length))
            {
                verdict = RecordVerdict.HasPlaintextWarnings;
            }

            datagram = datagram.Slice(HeaderLength + length);
        }

        return verdict;
    }

    /// <summary>
    /// Copies the records of a datagram that <see cref="Inspect"/> found well formed into
    /// <paramref name="destination"/> (at least as long), leaving out its plaintext warning alerts;
    /// returns the bytes written and, in <paramref name="removed"/>, how many records were left out.
    /// </summary>
    public static int WithoutPlaintextWarnings(ReadOnlySpan<byte> datagram, Span<byte> destination, out int removed)
    {
        int written = 0;
        removed = 0;
        while (!datagram.IsEmpty)
        {
            if (datagram[0] is >= 0x20 and <= 0x3F || datagram[0] is 25 or 26)
            {
                datagram.CopyTo(destination.Slice(written));
                return written + datagram.Length;
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(datagram.Slice(11, 2));
            ReadOnlySpan<byte> record = datagram.Slice(0, HeaderLength + length);
            if (IsPlaintextWarning(record, datagram[3] != 0 || datagram[4] != 0, length))
            {
                removed++;
            }
            else
            {
                record.CopyTo(destination.Slice(written));
                written += record.Length;
            }

            datagram = datagram.Slice(record.Length);
        }

        return written;
    }

    /// <summary>
    /// A plaintext (epoch 0) record that could be valid: application data never is (it is always
    /// encrypted); a ChangeCipherSpec is the single byte 1 (RFC 5246 §7.1); an alert is two bytes; a
    /// handshake record holds whole DTLS handshake headers (RFC 6347 §4.2.2) whose fragments lie
    /// within their messages. OpenSSL answers the others with a fatal alert (unexpected_message,
    /// illegal_parameter) that ends the handshake, although anyone on the path can send them.
    /// </summary>
    private static bool IsValidPlaintext(byte type, ReadOnlySpan<byte> body)
    {
        switch (type)
        {
            case 23:
                return false;
            case 20:
                return body.Length == 1 && body[0] == 1;
            case 21:
                return body.Length == 2;
            default:
                while (!body.IsEmpty)
                {
                    if (body.Length < HandshakeHeaderLength)
                    {
                        return false;
                    }

                    int messageLength = (body[1] << 16) | (body[2] << 8) | body[3];
                    int fragmentOffset = (body[6] << 16) | (body[7] << 8) | body[8];
                    int fragmentLength = (body[9] << 16) | (body[10] << 8) | body[11];
                    if (fragmentOffset + fragmentLength > messageLength || HandshakeHeaderLength + fragmentLength > body.Length)
                    {
                        return false;
                    }

                    body = body.Slice(HandshakeHeaderLength + fragmentLength);
                }

                return true;
        }
    }

    private const int HandshakeHeaderLength = 12;

    // An alert record in epoch 0 of level warning (1), except close_notify (0), which ends the association.
    private static bool IsPlaintextWarning(ReadOnlySpan<byte> record, bool encrypted, int length) =>
        record[0] == 21 && !encrypted && length == 2 && record[HeaderLength] == 1 && record[HeaderLength + 1] != 0;
}

/// <summary>What <see cref="DtlsRecordFilter.Inspect"/> found in a datagram.</summary>
internal enum RecordVerdict
{
    /// <summary>Some record is not DTLS, or cannot be a record of this session: drop the datagram.</summary>
    Malformed,

    /// <summary>Every record may go to OpenSSL.</summary>
    WellFormed,

    /// <summary>Well formed, with plaintext warning alerts to leave out first.</summary>
    HasPlaintextWarnings,
}
