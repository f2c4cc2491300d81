using System.Buffers.Binary;

namespace OpenSslDtls.Listener.Tests.Support;

/// <summary>How <see cref="Refragmenter"/> orders and shapes the fragments of each handshake message.</summary>
public enum FragmentOrder
{
    /// <summary>In order.</summary>
    InOrder,

    /// <summary>The first fragment, then the rest last to first.</summary>
    FirstThenReversed,

    /// <summary>Last to first: the first fragment (with the cookie) arrives last.</summary>
    Reversed,

    /// <summary>In order, every fragment sent twice (the same record).</summary>
    Duplicated,

    /// <summary>In order, each fragment overlapping the previous one by half.</summary>
    Overlapping,
}

/// <summary>
/// Rewrites a client's plaintext handshake records into small fragments (RFC 6347 §4.2.3), one record
/// per datagram, in the order asked for: what a path with a small MTU, reordering and duplication
/// delivers. A ClientHello's first fragment keeps at least <see cref="ClientHelloFirstFragment"/>
/// bytes: the cookie must be in it, as it is in every real client's (the listener drops smaller
/// first fragments by design). Epoch-0 records get new record sequence numbers in sending order (a real sender numbers
/// each record it sends; reused numbers would be replays); encrypted records pass unchanged.
/// </summary>
internal sealed class Refragmenter(int fragmentSize, FragmentOrder order)
{
    private const int RecordHeader = 13;
    private const int HandshakeHeader = 12;

    /// <summary>version, random, a 32-byte session_id and a 32-byte cookie.</summary>
    private const int ClientHelloFirstFragment = 2 + 32 + 1 + 32 + 1 + 32;

    private long _nextSequence;

    /// <summary>Messages that were split into more than one fragment.</summary>
    public int MessagesSplit { get; private set; }

    public IReadOnlyList<byte[]> Rewrite(byte[] datagram)
    {
        var output = new List<byte[]>();
        ReadOnlySpan<byte> rest = datagram;
        while (rest.Length >= RecordHeader)
        {
            int length = Math.Min(rest.Length - RecordHeader, BinaryPrimitives.ReadUInt16BigEndian(rest.Slice(11, 2)));
            ReadOnlySpan<byte> record = rest.Slice(0, RecordHeader + length);
            rest = rest.Slice(RecordHeader + length);
            bool epochZero = record[3] == 0 && record[4] == 0;
            if (!epochZero)
            {
                output.Add(record.ToArray());
                continue;
            }

            if (record[0] != 22)
            {
                output.Add(Renumber(record.ToArray()));
                continue;
            }

            ReadOnlySpan<byte> messages = record.Slice(RecordHeader);
            while (messages.Length >= HandshakeHeader)
            {
                int fragmentLength = ReadUInt24(messages.Slice(9));
                ReadOnlySpan<byte> fragment = messages.Slice(0, HandshakeHeader + fragmentLength);
                messages = messages.Slice(HandshakeHeader + fragmentLength);
                output.AddRange(Split(record.Slice(0, 3), fragment));
            }
        }

        return output;
    }

    private List<byte[]> Split(ReadOnlySpan<byte> typeAndVersion, ReadOnlySpan<byte> fragment)
    {
        int offset = ReadUInt24(fragment.Slice(6));
        ReadOnlySpan<byte> body = fragment.Slice(HandshakeHeader);
        var pieces = new List<(int Offset, int Length)>();
        int step = order == FragmentOrder.Overlapping ? Math.Max(1, fragmentSize / 2) : fragmentSize;
        int first = fragment[0] == 1 && offset == 0 ? Math.Max(fragmentSize, ClientHelloFirstFragment) : fragmentSize;
        pieces.Add((0, Math.Min(first, body.Length)));
        for (int at = first - (fragmentSize - step); at < body.Length && first < body.Length; at += step)
        {
            pieces.Add((at, Math.Min(fragmentSize, body.Length - at)));
            if (at + fragmentSize >= body.Length)
            {
                break;
            }
        }

        if (pieces.Count > 1)
        {
            MessagesSplit++;
        }

        if (order == FragmentOrder.Reversed)
        {
            pieces.Reverse();
        }
        else if (order == FragmentOrder.FirstThenReversed)
        {
            pieces.Reverse(1, pieces.Count - 1);
        }

        var records = new List<byte[]>();
        foreach ((int at, int length) in pieces)
        {
            byte[] record = new byte[RecordHeader + HandshakeHeader + length];
            typeAndVersion.CopyTo(record);
            BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(11), (ushort)(HandshakeHeader + length));
            fragment.Slice(0, 6).CopyTo(record.AsSpan(RecordHeader)); // type, length, message_seq
            WriteUInt24(record.AsSpan(RecordHeader + 6), offset + at);
            WriteUInt24(record.AsSpan(RecordHeader + 9), length);
            body.Slice(at, length).CopyTo(record.AsSpan(RecordHeader + HandshakeHeader));
            Renumber(record);
            records.Add(record);
            if (order == FragmentOrder.Duplicated)
            {
                records.Add(record);
            }
        }

        return records;
    }

    private byte[] Renumber(byte[] record)
    {
        long sequence = _nextSequence++;
        for (int i = 0; i < 6; i++)
        {
            record[10 - i] = (byte)(sequence >> (8 * i));
        }

        return record;
    }

    private static int ReadUInt24(ReadOnlySpan<byte> b) => (b[0] << 16) | (b[1] << 8) | b[2];

    private static void WriteUInt24(Span<byte> b, int value)
    {
        b[0] = (byte)(value >> 16);
        b[1] = (byte)(value >> 8);
        b[2] = (byte)value;
    }
}
