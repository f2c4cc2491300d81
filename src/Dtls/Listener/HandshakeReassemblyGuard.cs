using System.Buffers.Binary;

namespace OpenSsl.Dtls;

/// <summary>
/// What a pending handshake may make OpenSSL hold for reassembly, checked before the datagram reaches
/// it (RFC 6347 §4.2.3). OpenSSL allocates each handshake message's full announced length when its
/// first fragment arrives, for the next message and up to ten future ones, and accepts lengths up to
/// its certificate-list limit (100 KB): one peer could make it hold over a megabyte per handshake. Here
/// the epoch-0 handshake fragments of a pending peer are read (header only) and the distinct messages'
/// announced lengths summed; a datagram that would take the sum past
/// <see cref="DtlsListenerOptions.MaxHandshakeReassemblyBytes"/>, start a ninth message, or announce
/// another length for a message already seen (which OpenSSL treats as fatal, so a forged fragment
/// could end someone else's handshake) is dropped and counted. Encrypted records (the Finished) are
/// not readable and are small.
/// </summary>
internal sealed class HandshakeReassemblyGuard
{
    private const int MaxMessages = 8;
    private const int RecordHeaderLength = 13;
    private const int FragmentHeaderLength = 12;
    private const byte ContentTypeHandshake = 22;

    private readonly Lock _lock = new();
    private readonly int _limit;
    private readonly int[] _sequence = new int[MaxMessages];
    private readonly int[] _length = new int[MaxMessages];
    private int _count;
    private int _bytes;

    public HandshakeReassemblyGuard(int limit) => _limit = limit;

    /// <summary>The announced bytes of the messages seen so far.</summary>
    public int Bytes => Volatile.Read(ref _bytes);

    /// <summary>False if the datagram must be dropped; <paramref name="added"/> is how many bytes the messages it starts add.</summary>
    public bool TryAdmit(ReadOnlySpan<byte> datagram, out int added)
    {
        added = 0;
        lock (_lock)
        {
            while (datagram.Length >= RecordHeaderLength)
            {
                int recordLength = BinaryPrimitives.ReadUInt16BigEndian(datagram.Slice(11, 2));
                if (RecordHeaderLength + recordLength > datagram.Length)
                {
                    return true; // The record filter drops it.
                }

                bool plaintextHandshake = datagram[0] == ContentTypeHandshake && datagram[3] == 0 && datagram[4] == 0;
                ReadOnlySpan<byte> record = datagram.Slice(RecordHeaderLength, recordLength);
                datagram = datagram.Slice(RecordHeaderLength + recordLength);
                if (!plaintextHandshake)
                {
                    continue;
                }

                while (record.Length >= FragmentHeaderLength)
                {
                    int messageLength = ReadUInt24(record.Slice(1));
                    int sequence = BinaryPrimitives.ReadUInt16BigEndian(record.Slice(4, 2));
                    int fragmentOffset = ReadUInt24(record.Slice(6));
                    int fragmentLength = ReadUInt24(record.Slice(9));
                    if (FragmentHeaderLength + fragmentLength > record.Length || fragmentOffset + fragmentLength > messageLength)
                    {
                        return false;
                    }

                    if (!TryAdd(sequence, messageLength, ref added))
                    {
                        return false;
                    }

                    record = record.Slice(FragmentHeaderLength + fragmentLength);
                }
            }

            return true;
        }
    }

    /// <summary>Records the ClientHello that started the handshake (its first fragment, already parsed).</summary>
    public void Start(int sequence, int messageLength)
    {
        int added = 0;
        lock (_lock)
        {
            TryAdd(sequence, messageLength, ref added);
        }
    }

    private bool TryAdd(int sequence, int messageLength, ref int added)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_sequence[i] == sequence)
            {
                return _length[i] == messageLength;
            }
        }

        if (_count == MaxMessages || _bytes + messageLength > _limit)
        {
            return false;
        }

        _sequence[_count] = sequence;
        _length[_count] = messageLength;
        _count++;
        _bytes += messageLength;
        added += messageLength;
        return true;
    }

    private static int ReadUInt24(ReadOnlySpan<byte> b) => (b[0] << 16) | (b[1] << 8) | b[2];
}
