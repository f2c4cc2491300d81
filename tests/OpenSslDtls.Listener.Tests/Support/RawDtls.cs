using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using OpenSsl.Dtls;

namespace OpenSslDtls.Listener.Tests.Support;

/// <summary>
/// DTLS records by hand, for the attacker's side of the tests: a real client's first ClientHello,
/// captured off the wire, and the same ClientHello with a cookie put in.
/// </summary>
internal static class RawDtls
{
    public const byte HandshakeServerHello = 2;
    public const byte HandshakeHelloVerifyRequest = 3;

    // Offsets: record header 0-12, handshake header 13-24 (type 13, length 14-16, message_seq 17-18,
    // fragment_offset 19-21, fragment_length 22-24), ClientHello body from 25.
    private const int Body = 25;

    private static readonly Lazy<Task<byte[]>> LazyClientHello = new(CaptureClientHelloAsync);

    /// <summary>The first datagram a real <see cref="DtlsSession"/> client sends: a ClientHello without a cookie.</summary>
    public static Task<byte[]> ClientHelloAsync() => LazyClientHello.Value;

    /// <summary>True if the datagram starts with an epoch-0 handshake record of <paramref name="type"/>.</summary>
    public static bool IsHandshake(byte[]? datagram, byte type) =>
        datagram is { Length: > 13 } && datagram[0] == 22 && datagram[3] == 0 && datagram[4] == 0 && datagram[13] == type;

    /// <summary>The cookie carried by a HelloVerifyRequest.</summary>
    public static byte[] CookieOf(byte[] helloVerifyRequest)
    {
        int length = helloVerifyRequest[Body + 2];
        return helloVerifyRequest[(Body + 3)..(Body + 3 + length)];
    }

    /// <summary>A copy of <paramref name="clientHello"/> carrying <paramref name="cookie"/>, as a client's second ClientHello (message_seq 1).</summary>
    public static byte[] WithCookie(byte[] clientHello, ReadOnlySpan<byte> cookie, ushort messageSeq = 1)
    {
        int sessionIdAt = Body + 2 + 32;
        int cookieAt = sessionIdAt + 1 + clientHello[sessionIdAt];
        int oldLength = clientHello[cookieAt];
        int delta = cookie.Length - oldLength;
        byte[] result = [.. clientHello.AsSpan(0, cookieAt), (byte)cookie.Length, .. cookie, .. clientHello.AsSpan(cookieAt + 1 + oldLength)];
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(11), (ushort)(BinaryPrimitives.ReadUInt16BigEndian(clientHello.AsSpan(11)) + delta));
        WriteUInt24(result.AsSpan(14), ReadUInt24(clientHello.AsSpan(14)) + delta);
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(17), messageSeq);
        WriteUInt24(result.AsSpan(22), ReadUInt24(clientHello.AsSpan(22)) + delta);
        return result;
    }

    /// <summary>The plaintext (epoch-0) handshake fragments in a datagram: message type, message length, message_seq, fragment offset and length.</summary>
    public static List<(byte Type, int MessageLength, int Sequence, int Offset, int Length)> Fragments(byte[] datagram)
    {
        var fragments = new List<(byte, int, int, int, int)>();
        int at = 0;
        while (at + 13 <= datagram.Length)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(datagram.AsSpan(at + 11));
            int end = Math.Min(datagram.Length, at + 13 + length);
            if (datagram[at] == 22 && datagram[at + 3] == 0 && datagram[at + 4] == 0)
            {
                for (int m = at + 13; m + 12 <= end; m += 12 + ReadUInt24(datagram.AsSpan(m + 9)))
                {
                    fragments.Add((datagram[m], ReadUInt24(datagram.AsSpan(m + 1)), BinaryPrimitives.ReadUInt16BigEndian(datagram.AsSpan(m + 4)), ReadUInt24(datagram.AsSpan(m + 6)), ReadUInt24(datagram.AsSpan(m + 9))));
                }
            }

            at = end;
        }

        return fragments;
    }

    /// <summary>
    /// One fragment of the single-record handshake message in <paramref name="unfragmented"/> (as
    /// <see cref="ClientHelloAsync"/> or <see cref="WithCookie"/> make it), in its own record with
    /// record sequence number <paramref name="recordSequence"/>; the message header may announce
    /// another <paramref name="messageLength"/>, <paramref name="messageSeq"/> and <paramref name="messageType"/>.
    /// </summary>
    public static byte[] Fragment(byte[] unfragmented, int offset, int length, long recordSequence, int? messageLength = null, int? messageSeq = null, byte? messageType = null)
    {
        byte[] result = [.. unfragmented.AsSpan(0, Body), .. unfragmented.AsSpan(Body + offset, length)];
        for (int i = 0; i < 6; i++)
        {
            result[10 - i] = (byte)(recordSequence >> (8 * i));
        }

        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(11), (ushort)(12 + length));
        if (messageLength is { } announced)
        {
            WriteUInt24(result.AsSpan(14), announced);
        }

        if (messageType is { } type)
        {
            result[13] = type;
        }

        if (messageSeq is { } seq)
        {
            BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(17), (ushort)seq);
        }

        WriteUInt24(result.AsSpan(19), offset);
        WriteUInt24(result.AsSpan(22), length);
        return result;
    }

    /// <summary>A copy of <paramref name="clientHello"/> with another client random (a restarted client, or a replay with a new random).</summary>
    public static byte[] WithRandom(byte[] clientHello, ReadOnlySpan<byte> random)
    {
        byte[] result = [.. clientHello];
        random.CopyTo(result.AsSpan(Body + 2, 32));
        return result;
    }

    /// <summary>Runs the cookie exchange from <paramref name="socket"/> and returns the cookie the listener issued to it.</summary>
    public static async Task<byte[]> GetCookieAsync(Socket socket, IPEndPoint listener, CancellationToken cancellationToken, byte[]? clientHello = null)
    {
        byte[] hello = clientHello ?? await ClientHelloAsync();
        await socket.SendToAsync(hello, SocketFlags.None, listener, cancellationToken);
        byte[]? reply = await ListenerTestKit.ReceiveAsync(socket, TimeSpan.FromSeconds(5), cancellationToken);
        if (!IsHandshake(reply, HandshakeHelloVerifyRequest))
        {
            throw new InvalidOperationException("The listener did not answer the ClientHello with a HelloVerifyRequest.");
        }

        return CookieOf(reply!);
    }

    private static async Task<byte[]> CaptureClientHelloAsync()
    {
        using var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Connect(sink.LocalEndPoint!);
        using DtlsContext context = ListenerTestKit.ClientContext();
        using var session = new DtlsSession(context, socket);
        using var stop = new CancellationTokenSource();
        Task connect = session.ConnectAsync(stop.Token).AsTask();
        byte[] buffer = new byte[65536];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n = await sink.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        await stop.CancelAsync();
        try
        {
            await connect;
        }
        catch (OperationCanceledException)
        {
        }

        return buffer[..n];
    }

    private static int ReadUInt24(ReadOnlySpan<byte> b) => (b[0] << 16) | (b[1] << 8) | b[2];

    private static void WriteUInt24(Span<byte> b, int value)
    {
        b[0] = (byte)(value >> 16);
        b[1] = (byte)(value >> 8);
        b[2] = (byte)value;
    }
}
