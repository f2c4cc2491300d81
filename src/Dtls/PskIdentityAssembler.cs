using System.Buffers.Binary;

namespace OpenSsl.Dtls;

/// <summary>What <see cref="PskIdentityAssembler.Add"/> learned from one datagram.</summary>
internal enum PskIdentityScan
{
    /// <summary>No byte of the identity prefix yet, or nothing new: hand the datagram to OpenSSL.</summary>
    Incomplete,

    /// <summary>This datagram completed the identity: the key lookup starts and the datagram is held.</summary>
    Complete,

    /// <summary>The prefix announces an identity OpenSSL will refuse anyway (empty, longer than 128 bytes, past the message): leave it to OpenSSL.</summary>
    Unusable,
}

/// <summary>
/// Reassembles the start of a DTLS 1.2 ClientKeyExchange from the epoch-0 handshake records of the
/// datagrams a server receives, before OpenSSL sees them: for the PSK key exchanges the message
/// begins with the client's identity as a uint16-length-prefixed opaque (RFC 4279 §2 for PSK,
/// DHE_PSK and RSA_PSK; RFC 5489 §2 for ECDHE_PSK). The message may come in fragments, in any
/// order, duplicated or overlapping (RFC 6347 §4.2.3); only the first 2 + 128 bytes are kept, so a
/// session holds at most that much, whatever the peer sends.
/// </summary>
internal sealed class PskIdentityAssembler
{
    /// <summary>OpenSSL's <c>PSK_MAX_IDENTITY_LEN</c>: it refuses longer identities itself (unknown_psk_identity / decode error).</summary>
    public const int MaxIdentityLength = 128;

    private const int RecordHeaderLength = 13;
    private const int HandshakeHeaderLength = 12;
    private const byte ContentHandshake = 22;
    private const byte ClientKeyExchange = 16;

    private readonly byte[] _prefix = new byte[2 + MaxIdentityLength];
    private readonly bool[] _have = new bool[2 + MaxIdentityLength];
    private int _messageSequence = -1;
    private int _messageLength;

    /// <summary>
    /// Adds the ClientKeyExchange fragments of <paramref name="datagram"/> (whole records, already
    /// checked by <see cref="DtlsRecordFilter"/>); on <see cref="PskIdentityScan.Complete"/>,
    /// <paramref name="identity"/> holds the identity's exact bytes.
    /// </summary>
    public PskIdentityScan Add(ReadOnlySpan<byte> datagram, out byte[]? identity)
    {
        identity = null;
        bool touched = false;
        while (datagram.Length >= RecordHeaderLength)
        {
            int recordLength = BinaryPrimitives.ReadUInt16BigEndian(datagram.Slice(11));
            int end = Math.Min(datagram.Length, RecordHeaderLength + recordLength);
            bool epoch0 = datagram[3] == 0 && datagram[4] == 0;
            if (datagram[0] == ContentHandshake && epoch0)
            {
                touched |= AddRecord(datagram[RecordHeaderLength..end]);
            }

            datagram = datagram[end..];
        }

        if (!touched || !_have[0] || !_have[1])
        {
            return PskIdentityScan.Incomplete;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(_prefix);
        if (length == 0 || length > MaxIdentityLength || 2 + length > _messageLength)
        {
            return PskIdentityScan.Unusable;
        }

        if (Array.IndexOf(_have, false, 2, length) >= 0)
        {
            return PskIdentityScan.Incomplete;
        }

        identity = _prefix.AsSpan(2, length).ToArray();
        return PskIdentityScan.Complete;
    }

    private bool AddRecord(ReadOnlySpan<byte> record)
    {
        bool touched = false;
        while (record.Length >= HandshakeHeaderLength)
        {
            byte type = record[0];
            int messageLength = ReadUInt24(record.Slice(1));
            int sequence = BinaryPrimitives.ReadUInt16BigEndian(record.Slice(4));
            int offset = ReadUInt24(record.Slice(6));
            int fragmentLength = ReadUInt24(record.Slice(9));
            if (HandshakeHeaderLength + fragmentLength > record.Length)
            {
                return touched; // inconsistent: OpenSSL drops it too
            }

            ReadOnlySpan<byte> fragment = record.Slice(HandshakeHeaderLength, fragmentLength);
            record = record.Slice(HandshakeHeaderLength + fragmentLength);
            bool consistent = offset + fragmentLength <= messageLength;
            // The first ClientKeyExchange seen fixes the message; fragments of another message_seq or length are not its.
            bool sameMessage = _messageSequence < 0 || (sequence == _messageSequence && messageLength == _messageLength);
            if (type != ClientKeyExchange || fragment.IsEmpty || !consistent || !sameMessage)
            {
                continue;
            }

            _messageSequence = sequence;
            _messageLength = messageLength;
            for (int i = 0; i < fragment.Length && offset + i < _prefix.Length; i++)
            {
                _prefix[offset + i] = fragment[i];
                _have[offset + i] = true;
            }

            touched = true;
        }

        return touched;
    }

    private static int ReadUInt24(ReadOnlySpan<byte> b) => (b[0] << 16) | (b[1] << 8) | b[2];
}
