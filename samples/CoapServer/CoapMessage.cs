using System.Buffers.Binary;
using System.Numerics;

namespace OpenSslDtls.Samples.CoapServer;

/// <summary>The four CoAP message types (RFC 7252 §3, §4).</summary>
internal enum CoapType : byte
{
    Confirmable = 0,
    NonConfirmable = 1,
    Acknowledgement = 2,
    Reset = 3,
}

/// <summary>One CoAP option: its number and raw value (RFC 7252 §3.1, §5.4).</summary>
internal readonly record struct CoapOption(int Number, byte[] Value);

/// <summary>
/// A CoAP message as it travels in one datagram (RFC 7252 §3): 4-byte header, token, options in
/// delta encoding, then 0xFF and the payload. Over DTLS every datagram carries exactly one message (§9.1).
/// </summary>
internal sealed record CoapMessage(CoapType Type, byte Code, ushort MessageId, byte[] Token, IReadOnlyList<CoapOption> Options, byte[] Payload)
{
    private const int Version = 1;
    private const byte PayloadMarker = 0xFF;

    /// <summary>An empty message (code 0.00) with no token, options or payload: a ping, an empty ACK or a RST (§4.1).</summary>
    public static CoapMessage Empty(CoapType type, ushort messageId) => new(type, CoapCode.Empty, messageId, [], [], []);

    /// <summary>All values of option <paramref name="number"/>, in order (Uri-Path segments, for example).</summary>
    public IEnumerable<byte[]> OptionValues(int number) => Options.Where(o => o.Number == number).Select(o => o.Value);

    /// <summary>The type and message ID of a datagram too broken to parse, so that a CON can still be rejected with RST (§4.2).</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> datagram, out CoapType type, out ushort messageId)
    {
        type = default;
        messageId = 0;
        if (datagram.Length < 4 || datagram[0] >> 6 != Version)
        {
            return false;
        }

        type = (CoapType)((datagram[0] >> 4) & 0x3);
        messageId = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        return true;
    }

    /// <summary>Decodes one datagram; null with <paramref name="error"/> set for a message format error (§3, §4.2).</summary>
    public static CoapMessage? TryParse(ReadOnlySpan<byte> datagram, out string? error)
    {
        if (!TryReadHeader(datagram, out CoapType type, out ushort messageId))
        {
            error = "shorter than 4 bytes or not CoAP version 1";
            return null;
        }

        int tokenLength = datagram[0] & 0x0F;
        byte code = datagram[1];
        if (tokenLength > 8)
        {
            error = $"token length {tokenLength} is reserved"; // lengths 9-15 are a format error (§3)
            return null;
        }

        if (datagram.Length < 4 + tokenLength)
        {
            error = "truncated token";
            return null;
        }

        if (code == CoapCode.Empty && datagram.Length != 4)
        {
            error = "an empty message carries bytes after the message ID"; // §4.1
            return null;
        }

        byte[] token = datagram.Slice(4, tokenLength).ToArray();
        var options = new List<CoapOption>();
        ReadOnlySpan<byte> rest = datagram[(4 + tokenLength)..];
        int number = 0;
        while (!rest.IsEmpty && rest[0] != PayloadMarker)
        {
            int delta = rest[0] >> 4;
            int length = rest[0] & 0x0F;
            rest = rest[1..];
            if (!TryReadExtended(ref rest, ref delta) || !TryReadExtended(ref rest, ref length) || rest.Length < length)
            {
                error = "malformed option";
                return null;
            }

            number += delta;
            options.Add(new CoapOption(number, rest[..length].ToArray()));
            rest = rest[length..];
        }

        if (!rest.IsEmpty && rest.Length == 1)
        {
            error = "payload marker without a payload"; // §3
            return null;
        }

        error = null;
        return new CoapMessage(type, code, messageId, token, options, rest.IsEmpty ? [] : rest[1..].ToArray());
    }

    /// <summary>Encodes the message; options are written in ascending number order, as the delta encoding requires (§3.1).</summary>
    public byte[] ToBytes()
    {
        if (Token.Length > 8)
        {
            throw new InvalidOperationException($"a CoAP token is at most 8 bytes, not {Token.Length}");
        }

        using var stream = new MemoryStream();
        stream.WriteByte((byte)((Version << 6) | ((int)Type << 4) | Token.Length));
        stream.WriteByte(Code);
        stream.WriteByte((byte)(MessageId >> 8));
        stream.WriteByte((byte)MessageId);
        stream.Write(Token);
        int previous = 0;
        foreach (CoapOption option in Options.OrderBy(o => o.Number))
        {
            WriteOptionHeader(stream, option.Number - previous, option.Value.Length);
            stream.Write(option.Value);
            previous = option.Number;
        }

        if (Payload.Length > 0)
        {
            stream.WriteByte(PayloadMarker);
            stream.Write(Payload);
        }

        return stream.ToArray();
    }

    /// <summary>A uint option value in the fewest bytes, big-endian; 0 is the empty value (§3.2).</summary>
    public static byte[] UintValue(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes[(BitOperations.LeadingZeroCount(value) / 8)..];
    }

    /// <summary>Reads a uint option value (at most 4 bytes, big-endian).</summary>
    public static uint ReadUint(byte[] value) => value.Aggregate(0u, (sum, b) => (sum << 8) | b);

    // Nibbles 13 and 14 announce 1 or 2 more bytes (value - 13, value - 269); 15 is reserved (§3.1).
    private static bool TryReadExtended(ref ReadOnlySpan<byte> rest, ref int nibble)
    {
        switch (nibble)
        {
            case 13 when rest.Length >= 1:
                nibble = rest[0] + 13;
                rest = rest[1..];
                return true;
            case 14 when rest.Length >= 2:
                nibble = BinaryPrimitives.ReadUInt16BigEndian(rest) + 269;
                rest = rest[2..];
                return true;
            case < 13:
                return true;
            default:
                return false;
        }
    }

    private static void WriteOptionHeader(MemoryStream stream, int delta, int length)
    {
        stream.WriteByte((byte)((Nibble(delta) << 4) | Nibble(length)));
        WriteExtended(stream, delta);
        WriteExtended(stream, length);
    }

    private static int Nibble(int value) => value < 13 ? value : value < 269 ? 13 : 14;

    private static void WriteExtended(MemoryStream stream, int value)
    {
        if (value >= 269)
        {
            stream.WriteByte((byte)((value - 269) >> 8));
            stream.WriteByte((byte)(value - 269));
        }
        else if (value >= 13)
        {
            stream.WriteByte((byte)(value - 13));
        }
    }
}
