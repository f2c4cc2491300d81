using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace OpenSsl.Dtls;

/// <summary>
/// Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1): <c>HMAC-SHA256(key, address, port)</c>,
/// where the key rotates every <see cref="DtlsListenerOptions.CookieSecretRotation"/>. Each period's
/// key is derived from the master secret and the period's number on the UTC clock, so servers of a
/// fleet that share <see cref="DtlsListenerOptions.CookieSecret"/> compute the same keys without
/// talking to each other, and nothing needs a timer. A cookie verifies under the current key and the
/// previous one: it lives between one and two rotation periods. The cookie binds the address and the
/// port only, not the ClientHello's other fields, so that the retransmitted ClientHello of a client
/// that changed nothing but its random still verifies.
/// </summary>
internal sealed class CookieAuthority
{
    /// <summary>The cookie length: a whole SHA-256 HMAC, within DTLS 1.0's 32-byte limit, so that any client can carry it.</summary>
    public const int CookieLength = 32;

    private static ReadOnlySpan<byte> Label => "OpenSslDtls HelloVerifyRequest cookie v1"u8;

    private readonly byte[] _master;
    private readonly long _rotationTicks;
    private readonly TimeProvider _time;
    private volatile Keys _keys;

    public CookieAuthority(ReadOnlySpan<byte> secret, TimeSpan rotation, TimeProvider? time = null)
    {
        _master = secret.IsEmpty ? RandomNumberGenerator.GetBytes(32) : secret.ToArray();
        _rotationTicks = Math.Max(1, rotation.Ticks);
        _time = time ?? TimeProvider.System;
        _keys = Derive(Period());
    }

    /// <summary>Writes the cookie for <paramref name="peer"/> (a socket address as received) and returns <see cref="CookieLength"/>.</summary>
    public int Write(SocketAddress peer, Span<byte> destination)
    {
        Compute(CurrentKeys().Current, peer, destination.Slice(0, CookieLength));
        return CookieLength;
    }

    /// <summary>True if <paramref name="cookie"/> is this peer's cookie under the current or the previous key.</summary>
    public bool Verify(SocketAddress peer, ReadOnlySpan<byte> cookie)
    {
        if (cookie.Length != CookieLength)
        {
            return false;
        }

        Keys keys = CurrentKeys();
        Span<byte> expected = stackalloc byte[CookieLength];
        Compute(keys.Current, peer, expected);
        if (CryptographicOperations.FixedTimeEquals(expected, cookie))
        {
            return true;
        }

        Compute(keys.Previous, peer, expected);
        return CryptographicOperations.FixedTimeEquals(expected, cookie);
    }

    private long Period() => _time.GetUtcNow().UtcTicks / _rotationTicks;

    private Keys CurrentKeys()
    {
        Keys keys = _keys;
        long period = Period();
        if (keys.Period != period)
        {
            // Two threads may both derive; both get the same keys, so either write is right.
            _keys = keys = Derive(period);
        }

        return keys;
    }

    private Keys Derive(long period) => new(period, DeriveKey(period), DeriveKey(period - 1));

    private byte[] DeriveKey(long period)
    {
        Span<byte> input = stackalloc byte[Label.Length + 8];
        Label.CopyTo(input);
        BinaryPrimitives.WriteInt64BigEndian(input.Slice(Label.Length), period);
        return HMACSHA256.HashData(_master, input);
    }

    /// <summary>
    /// HMAC over (family, port, address) read straight from the <see cref="SocketAddress"/> bytes: no
    /// <c>IPEndPoint</c> is made per datagram. An IPv4-mapped IPv6 address (a dual-mode socket) counts
    /// as its IPv4 address, so that a dual-mode and an IPv4 server of one fleet agree.
    /// </summary>
    private static void Compute(byte[] key, SocketAddress peer, Span<byte> destination)
    {
        // sockaddr_in and sockaddr_in6 keep the port at bytes 2-3 and the address at 4-7 (IPv4) or
        // 8-23 (IPv6) on every OS .NET runs on.
        ReadOnlySpan<byte> raw = peer.Buffer.Span.Slice(0, peer.Size);
        Span<byte> input = stackalloc byte[1 + 2 + 16];
        int length;
        if (peer.Family == AddressFamily.InterNetworkV6 && raw.Length >= 24)
        {
            ReadOnlySpan<byte> address = raw.Slice(8, 16);
            if (IsIPv4Mapped(address))
            {
                input[0] = 4;
                address.Slice(12, 4).CopyTo(input.Slice(3));
                length = 7;
            }
            else
            {
                input[0] = 6;
                address.CopyTo(input.Slice(3));
                length = 19;
            }
        }
        else if (raw.Length >= 8)
        {
            input[0] = 4;
            raw.Slice(4, 4).CopyTo(input.Slice(3));
            length = 7;
        }
        else
        {
            input[0] = 0;
            length = 3;
        }

        raw.Slice(2, 2).CopyTo(input.Slice(1));
        HMACSHA256.HashData(key, input.Slice(0, length), destination);
    }

    private static bool IsIPv4Mapped(ReadOnlySpan<byte> address) =>
        address.Slice(0, 10).IndexOfAnyExcept((byte)0) < 0 && address[10] == 0xFF && address[11] == 0xFF;

    private sealed record Keys(long Period, byte[] Current, byte[] Previous);
}
