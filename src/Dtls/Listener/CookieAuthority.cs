using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace OpenSsl.Dtls;

/// <summary>
/// Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1): the issue time (4 bytes, seconds on the
/// UTC clock) and <c>HMAC-SHA256(key, issue time, address, port, client_version, random)</c>
/// truncated to 28 bytes, where the key rotates every
/// <see cref="DtlsListenerOptions.CookieSecretRotation"/>. Each period's key is derived from the
/// master secret and the period's number on the UTC clock, so servers of a fleet that share
/// <see cref="DtlsListenerOptions.CookieSecret"/> compute the same keys without talking to each
/// other, and nothing needs a timer. A cookie verifies under the current key and the previous one and
/// only while it is younger than <see cref="DtlsListenerOptions.CookieLifetime"/>.
/// <para>
/// The master secret itself can be replaced on a running listener (<see cref="UpdateSecret"/>, a fleet's
/// rotation): new cookies use the new master at once, and the replaced master keeps verifying until the
/// next replacement, so cookies issued just before the rotation (by this server or by a server of the fleet
/// that has not reloaded yet) still verify; their lifetime bounds them anyway.
/// </para>
/// <para>
/// The cookie binds the ClientHello's version and random, which RFC 6347 §4.2.1 requires the
/// client to repeat unchanged in the ClientHello that carries it. So a cookie-bearing ClientHello
/// seen on the path cannot be replayed with a new random (that looked like a restarted client and
/// replaced the live session). The RFC lists session_id, cipher_suites and compression_methods too,
/// but they are not bound: the last two follow the cookie and may lie in a later fragment, which a
/// stateless server cannot wait for; and mbedTLS 2.28 draws a fresh session_id for every
/// ClientHello of a ticket resumption, so binding it would refuse those devices forever (found by the
/// mbedTLS interop test). The extensions are not bound either: the RFC lets them change (a padding
/// extension grows with the cookie).
/// </para>
/// </summary>
internal sealed class CookieAuthority
{
    /// <summary>The cookie length: within DTLS 1.0's 32-byte limit, so that any client can carry it.</summary>
    public const int CookieLength = 32;

    private const int TimeLength = 4;

    /// <summary>A fleet's clocks may disagree this much: a cookie "issued" up to this far in the future still verifies.</summary>
    private const int ClockSkewSeconds = 5;

    private static ReadOnlySpan<byte> Label => "OpenSslDtls HelloVerifyRequest cookie v1"u8;

    private readonly long _rotationTicks;
    private readonly long _lifetimeSeconds;
    private readonly TimeProvider _time;
    private volatile Masters _masters;
    private volatile Keys _keys;

    public CookieAuthority(ReadOnlySpan<byte> secret, TimeSpan rotation, TimeSpan lifetime, TimeProvider? time = null)
    {
        _masters = new Masters(secret.IsEmpty ? RandomNumberGenerator.GetBytes(32) : secret.ToArray(), null);
        _rotationTicks = Math.Max(1, rotation.Ticks);
        _lifetimeSeconds = Math.Max(1, (long)Math.Ceiling(lifetime.TotalSeconds));
        _time = time ?? TimeProvider.System;
        _keys = Derive(_masters, Period(_time.GetUtcNow()));
    }

    /// <summary>
    /// Makes <paramref name="secret"/> the master secret; the one it replaces keeps verifying until the next
    /// call. The same secret again changes nothing (a configuration file rewritten unchanged).
    /// </summary>
    public void UpdateSecret(ReadOnlySpan<byte> secret)
    {
        Masters current = _masters;
        if (secret.SequenceEqual(current.Current))
        {
            return;
        }

        _masters = new Masters(secret.ToArray(), current.Current);
    }

    /// <summary>Writes the cookie for <paramref name="peer"/> (a socket address as received) and <paramref name="hello"/>, and returns <see cref="CookieLength"/>.</summary>
    public int Write(SocketAddress peer, in ClientHello hello, Span<byte> destination)
    {
        DateTimeOffset now = _time.GetUtcNow();
        Span<byte> cookie = destination.Slice(0, CookieLength);
        BinaryPrimitives.WriteUInt32BigEndian(cookie, (uint)now.ToUnixTimeSeconds());
        Compute(CurrentKeys(now).Current, cookie.Slice(0, TimeLength), peer, hello, cookie.Slice(TimeLength));
        return CookieLength;
    }

    /// <summary>True if <paramref name="hello"/>'s cookie is this peer's cookie for this ClientHello, under the current or the previous key, and not older than the lifetime.</summary>
    public bool Verify(SocketAddress peer, in ClientHello hello)
    {
        ReadOnlySpan<byte> cookie = hello.Cookie;
        if (cookie.Length != CookieLength)
        {
            return false;
        }

        DateTimeOffset now = _time.GetUtcNow();
        // Seconds modulo 2^32 on both sides: the difference is right across the wrap in 2106.
        int age = (int)((uint)now.ToUnixTimeSeconds() - BinaryPrimitives.ReadUInt32BigEndian(cookie));
        if (age > _lifetimeSeconds || age < -ClockSkewSeconds)
        {
            return false;
        }

        Keys keys = CurrentKeys(now);
        Span<byte> expected = stackalloc byte[CookieLength - TimeLength];
        Compute(keys.Current, cookie.Slice(0, TimeLength), peer, hello, expected);
        if (CryptographicOperations.FixedTimeEquals(expected, cookie.Slice(TimeLength)))
        {
            return true;
        }

        Compute(keys.Previous, cookie.Slice(0, TimeLength), peer, hello, expected);
        if (CryptographicOperations.FixedTimeEquals(expected, cookie.Slice(TimeLength)))
        {
            return true;
        }

        if (keys.Retired is not { } retired)
        {
            return false;
        }

        // Issued under the master secret the last UpdateSecret replaced.
        Compute(retired.Current, cookie.Slice(0, TimeLength), peer, hello, expected);
        if (CryptographicOperations.FixedTimeEquals(expected, cookie.Slice(TimeLength)))
        {
            return true;
        }

        Compute(retired.Previous, cookie.Slice(0, TimeLength), peer, hello, expected);
        return CryptographicOperations.FixedTimeEquals(expected, cookie.Slice(TimeLength));
    }

    private long Period(DateTimeOffset now) => now.UtcTicks / _rotationTicks;

    private Keys CurrentKeys(DateTimeOffset now)
    {
        Keys keys = _keys;
        Masters masters = _masters;
        long period = Period(now);
        if (keys.Period != period || !ReferenceEquals(keys.Masters, masters))
        {
            // Two threads may both derive; both get the same keys, so either write is right (a write made from
            // masters an UpdateSecret has since replaced names them, and the next call derives again).
            _keys = keys = Derive(masters, period);
        }

        return keys;
    }

    private static Keys Derive(Masters masters, long period) => new(
        masters,
        period,
        DeriveKey(masters.Current, period),
        DeriveKey(masters.Current, period - 1),
        masters.Retired is { } retired ? new RetiredKeys(DeriveKey(retired, period), DeriveKey(retired, period - 1)) : null);

    private static byte[] DeriveKey(byte[] master, long period)
    {
        Span<byte> input = stackalloc byte[Label.Length + 8];
        Label.CopyTo(input);
        BinaryPrimitives.WriteInt64BigEndian(input.Slice(Label.Length), period);
        return HMACSHA256.HashData(master, input);
    }

    /// <summary>
    /// HMAC over (issue time, family, port, address, version, random), the address read
    /// straight from the <see cref="SocketAddress"/> bytes: no <c>IPEndPoint</c> is made per datagram,
    /// nothing is allocated. An IPv4-mapped IPv6 address (a dual-mode socket) counts as its IPv4
    /// address, so that a dual-mode and an IPv4 server of one fleet agree.
    /// </summary>
    private static void Compute(byte[] key, ReadOnlySpan<byte> issued, SocketAddress peer, in ClientHello hello, Span<byte> destination)
    {
        // sockaddr_in and sockaddr_in6 keep the port at bytes 2-3 and the address at 4-7 (IPv4) or
        // 8-23 (IPv6) on every OS .NET runs on.
        ReadOnlySpan<byte> raw = peer.Buffer.Span.Slice(0, peer.Size);
        Span<byte> input = stackalloc byte[1 + 2 + 16 + TimeLength + 2 + 32];
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
        issued.CopyTo(input.Slice(length));
        length += TimeLength;
        hello.Version.CopyTo(input.Slice(length));
        length += 2;
        hello.Random.CopyTo(input.Slice(length));
        length += hello.Random.Length;
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, input.Slice(0, length), mac);
        mac.Slice(0, destination.Length).CopyTo(destination);
    }

    private static bool IsIPv4Mapped(ReadOnlySpan<byte> address) =>
        address.Slice(0, 10).IndexOfAnyExcept((byte)0) < 0 && address[10] == 0xFF && address[11] == 0xFF;

    /// <summary>The master secret and the one the last <see cref="UpdateSecret"/> replaced (null before any).</summary>
    private sealed record Masters(byte[] Current, byte[]? Retired);

    private sealed record Keys(Masters Masters, long Period, byte[] Current, byte[] Previous, RetiredKeys? Retired);

    private sealed record RetiredKeys(byte[] Current, byte[] Previous);
}
