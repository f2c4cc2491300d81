using System.Buffers.Binary;

namespace OpenSsl.Dtls;

/// <summary>What <see cref="ClientHello.TryParse"/> found in a datagram.</summary>
internal enum ClientHelloParse
{
    /// <summary>A well-formed DTLS ClientHello (its first fragment, holding the cookie).</summary>
    Ok,

    /// <summary>
    /// A well-formed fragment of a ClientHello at an offset other than 0: it cannot carry the cookie
    /// (which lies within the first 100 bytes of the body), so only a peer that already proved its
    /// address can use it; the session's OpenSSL reassembles it (RFC 6347 §4.2.3).
    /// </summary>
    LaterFragment,

    /// <summary>
    /// A first fragment too short to hold the whole cookie (version, random, session_id and cookie
    /// must all be in it). A stateless server cannot wait for the rest, so it is dropped, as OpenSSL's
    /// <c>DTLSv1_listen</c> does; no client fragments that small (the cookie ends within 125 bytes of
    /// the datagram, below any MTU OpenSSL or GnuTLS accepts).
    /// </summary>
    CookieNotInFragment,

    /// <summary>A well-formed DTLS record that is not an epoch-0 ClientHello.</summary>
    NotClientHello,

    /// <summary>Not a DTLS record, or a record or ClientHello whose lengths do not add up.</summary>
    Malformed,
}

/// <summary>
/// The stateless half of the cookie exchange, in managed code (RFC 6347 §4.2.1): read just enough of
/// a ClientHello to find its cookie, and write the HelloVerifyRequest that answers it. Nothing here
/// allocates or calls OpenSSL, so a flood of spoofed ClientHellos costs one parse and one HMAC each
/// and leaves no state. The checks mirror those of OpenSSL's own <c>DTLSv1_listen</c>, so a datagram
/// accepted here is one that <see cref="DtlsSession.TakeVerifiedClientHello"/> accepts too.
/// </summary>
internal readonly ref struct ClientHello
{
    /// <summary>DTLS record header: type (1), version (2), epoch (2), sequence number (6), length (2).</summary>
    public const int RecordHeaderLength = 13;

    /// <summary>DTLS handshake header: type (1), length (3), message_seq (2), fragment_offset (3), fragment_length (3).</summary>
    public const int HandshakeHeaderLength = 12;

    /// <summary>The HelloVerifyRequest this listener sends: headers, server_version (2), cookie length (1), cookie.</summary>
    public const int HelloVerifyRequestLength = RecordHeaderLength + HandshakeHeaderLength + 3 + CookieAuthority.CookieLength;

    private const byte ContentTypeHandshake = 22;
    private const byte HandshakeTypeClientHello = 1;
    private const byte HandshakeTypeHelloVerifyRequest = 3;
    private const byte DtlsMajorVersion = 0xFE;
    private const int RandomLength = 32;

    private ClientHello(ReadOnlySpan<byte> recordSequence, int messageSequence, int messageLength, ReadOnlySpan<byte> body, ReadOnlySpan<byte> cookie)
    {
        RecordSequence = recordSequence;
        MessageSequence = messageSequence;
        MessageLength = messageLength;
        Version = body.Slice(0, 2);
        Random = body.Slice(2, RandomLength);
        Cookie = cookie;
    }

    /// <summary>The record's epoch and sequence number (8 bytes), echoed in the HelloVerifyRequest.</summary>
    public ReadOnlySpan<byte> RecordSequence { get; }

    /// <summary>The handshake message_seq (0 in a first ClientHello, 1 after a HelloVerifyRequest).</summary>
    public int MessageSequence { get; }

    /// <summary>The whole ClientHello's length in bytes (more than this fragment holds when it is fragmented).</summary>
    public int MessageLength { get; }

    /// <summary>client_version (2 bytes).</summary>
    public ReadOnlySpan<byte> Version { get; }

    /// <summary>The client's 32 random bytes: the same in a retransmission and in the ClientHello that answers a HelloVerifyRequest (RFC 6347 §4.2.1), new when the client restarts.</summary>
    public ReadOnlySpan<byte> Random { get; }

    /// <summary>The cookie, empty in a first ClientHello.</summary>
    public ReadOnlySpan<byte> Cookie { get; }

    /// <summary>
    /// A cheap test, without parsing, for an epoch-0 handshake record carrying a ClientHello: what a
    /// known peer sends only when it starts over (RFC 6347 §4.2.8) or retransmits its first flight.
    /// </summary>
    public static bool LooksLikeClientHello(ReadOnlySpan<byte> datagram) =>
        datagram.Length > RecordHeaderLength
        && datagram[0] == ContentTypeHandshake
        && datagram[3] == 0 && datagram[4] == 0
        && datagram[RecordHeaderLength] == HandshakeTypeClientHello;

    /// <summary>Parses the first record of <paramref name="datagram"/> as a ClientHello, up to and including its cookie.</summary>
    public static ClientHelloParse TryParse(ReadOnlySpan<byte> datagram, out ClientHello hello)
    {
        hello = default;
        if (datagram.Length < RecordHeaderLength)
        {
            return ClientHelloParse.Malformed;
        }

        if (datagram[1] != DtlsMajorVersion)
        {
            return ClientHelloParse.Malformed;
        }

        int recordLength = BinaryPrimitives.ReadUInt16BigEndian(datagram.Slice(11, 2));
        if (RecordHeaderLength + recordLength > datagram.Length)
        {
            return ClientHelloParse.Malformed;
        }

        // Only an epoch-0 handshake record can start a handshake; a second record in the datagram is ignored, as DTLSv1_listen does.
        if (datagram[0] != ContentTypeHandshake || datagram[3] != 0 || datagram[4] != 0)
        {
            return ClientHelloParse.NotClientHello;
        }

        ReadOnlySpan<byte> message = datagram.Slice(RecordHeaderLength, recordLength);
        if (message.Length < HandshakeHeaderLength)
        {
            return ClientHelloParse.Malformed;
        }

        if (message[0] != HandshakeTypeClientHello)
        {
            return ClientHelloParse.NotClientHello;
        }

        int messageLength = ReadUInt24(message.Slice(1));
        int messageSeq = BinaryPrimitives.ReadUInt16BigEndian(message.Slice(4, 2));
        int fragmentOffset = ReadUInt24(message.Slice(6));
        int fragmentLength = ReadUInt24(message.Slice(9));

        // The fragment must fill the record and lie within the message (DTLSv1_listen's rules; a
        // ClientHello is message 0 or, after a HelloVerifyRequest, 1).
        if (messageSeq > 2 || fragmentOffset + fragmentLength > messageLength || HandshakeHeaderLength + fragmentLength != message.Length)
        {
            return ClientHelloParse.Malformed;
        }

        // A stateless server cannot reassemble before the cookie: the cookie is read from the first
        // fragment; the later ones are for a session that already exists.
        if (fragmentOffset != 0)
        {
            return fragmentLength == 0 ? ClientHelloParse.Malformed : ClientHelloParse.LaterFragment;
        }

        ReadOnlySpan<byte> body = message.Slice(HandshakeHeaderLength);
        ClientHelloParse truncated = fragmentLength < messageLength ? ClientHelloParse.CookieNotInFragment : ClientHelloParse.Malformed;

        // client_version (2) random (32) session_id<0..32> cookie<0..255>
        if (body.Length >= 1 && body[0] != DtlsMajorVersion)
        {
            return ClientHelloParse.Malformed;
        }

        if (body.Length < 2 + RandomLength + 1)
        {
            return truncated;
        }

        int offset = 2 + RandomLength;
        int sessionIdLength = body[offset++];
        if (sessionIdLength > 32)
        {
            return ClientHelloParse.Malformed;
        }

        if (offset + sessionIdLength + 1 > body.Length)
        {
            return truncated;
        }

        offset += sessionIdLength;
        int cookieLength = body[offset++];
        if (offset + cookieLength > body.Length)
        {
            return truncated;
        }

        hello = new ClientHello(datagram.Slice(3, 8), messageSeq, messageLength, body, body.Slice(offset, cookieLength));
        return ClientHelloParse.Ok;
    }

    /// <summary>
    /// Writes the HelloVerifyRequest answering this ClientHello (RFC 6347 §4.2.1): record and
    /// server_version DTLS 1.0 (0xFEFF) whatever version is later negotiated, as the RFC recommends
    /// and OpenSSL does, since some clients ignore anything else before the version is agreed; the
    /// record sequence number copied from the ClientHello; message_seq 0; one unfragmented message.
    /// </summary>
    /// <returns>The number of bytes written: <see cref="HelloVerifyRequestLength"/>.</returns>
    public int WriteHelloVerifyRequest(ReadOnlySpan<byte> cookie, Span<byte> destination)
    {
        int bodyLength = 3 + cookie.Length;
        int messageLength = HandshakeHeaderLength + bodyLength;
        int total = RecordHeaderLength + messageLength;
        Span<byte> d = destination.Slice(0, total);

        d[0] = ContentTypeHandshake;
        d[1] = 0xFE;
        d[2] = 0xFF;
        RecordSequence.CopyTo(d.Slice(3, 8));
        BinaryPrimitives.WriteUInt16BigEndian(d.Slice(11, 2), (ushort)messageLength);

        Span<byte> m = d.Slice(RecordHeaderLength);
        m[0] = HandshakeTypeHelloVerifyRequest;
        WriteUInt24(m.Slice(1), bodyLength);
        m[4] = 0; // message_seq 0
        m[5] = 0;
        WriteUInt24(m.Slice(6), 0);
        WriteUInt24(m.Slice(9), bodyLength);

        Span<byte> body = m.Slice(HandshakeHeaderLength);
        body[0] = 0xFE;
        body[1] = 0xFF;
        body[2] = (byte)cookie.Length;
        cookie.CopyTo(body.Slice(3));
        return total;
    }

    private static int ReadUInt24(ReadOnlySpan<byte> b) => (b[0] << 16) | (b[1] << 8) | b[2];

    private static void WriteUInt24(Span<byte> b, int value)
    {
        b[0] = (byte)(value >> 16);
        b[1] = (byte)(value >> 8);
        b[2] = (byte)value;
    }
}
