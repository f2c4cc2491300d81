using System.Buffers.Binary;

namespace OpenSsl.Dtls;

/// <summary>
/// Cuts what OpenSSL writes to our BIO into datagrams that keep the configured MTU. During a
/// handshake OpenSSL collects a flight in a buffering BIO and writes it in one call, sized by its
/// own arithmetic, which in 3.0 leaves the AEAD's explicit nonce and tag out of the encrypted
/// records: the flight that ends with ChangeCipherSpec and the encrypted Finished comes out 17 to 24
/// bytes over the MTU (so does <c>openssl s_client -mtu</c>). That buffering BIO also flushes when
/// its 4 KiB buffer fills, which can cut a record in two when the MTU is larger than that. A
/// datagram may carry several whole records but never part of one (RFC 6347 §4.1.1, RFC 9147 §4.3),
/// so cutting between records is always allowed; this type decides where.
/// </summary>
internal static class DatagramPacker
{
    private const int HeaderLength = 13;

    /// <summary>
    /// The length of the next datagram to send from the front of <paramref name="records"/>: as many
    /// whole records as fit in <paramref name="limit"/> bytes, or one record alone if it is larger
    /// (it cannot be cut), or 0 if the front is an incomplete record (more bytes are to come).
    /// Bytes that do not parse as DTLS 1.0/1.2 records (a DTLS 1.3 unified header, whose length
    /// field is optional) are sent as they are, in one datagram.
    /// </summary>
    public static int NextDatagram(ReadOnlySpan<byte> records, int limit)
    {
        int taken = 0;
        while (taken < records.Length)
        {
            int record = RecordLength(records.Slice(taken));
            if (record < 0)
            {
                // Not a plaintext-header record: OpenSSL's framing, not ours to cut.
                return taken > 0 ? taken : records.Length;
            }

            if (record == 0)
            {
                return taken; // an incomplete record follows: wait for the rest (0: nothing whole yet)
            }

            if (taken > 0 && taken + record > limit)
            {
                return taken;
            }

            taken += record;
            if (taken >= limit)
            {
                return taken;
            }
        }

        return taken;
    }

    /// <summary>The whole record's length at the front of <paramref name="data"/>; 0 if incomplete; -1 if not a DTLS 1.0/1.2 record header.</summary>
    private static int RecordLength(ReadOnlySpan<byte> data)
    {
        if (data[0] is < 20 or > 26 || (data.Length > 1 && data[1] != 0xFE))
        {
            return -1;
        }

        if (data.Length < HeaderLength)
        {
            return 0;
        }

        int length = HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(data.Slice(11, 2));
        return length <= data.Length ? length : 0;
    }
}
