using System.Security.Cryptography;
using OpenSsl.Interop;

namespace OpenSsl.Dtls;

/// <summary>
/// The session-ticket keys of a server context (RFC 5077 §4): the first key encrypts new tickets, every
/// key decrypts. <see cref="Update"/> installs a new set and keeps the set it replaces for decryption
/// until the next update, so tickets issued before a rotation still resume for one rotation period (and
/// are renewed under the new key). Each key is 80 bytes laid out as OpenSSL's
/// <c>SSL_CTX_set_tlsext_ticket_keys</c> takes them: name (16), HMAC-SHA256 secret (32), AES-256 key (32),
/// used with the algorithms of OpenSSL's built-in ticket code (AES-256-CBC, HMAC-SHA256), as the example of
/// SSL_CTX_set_tlsext_ticket_key_cb(3) does.
/// Read by OpenSSL's ticket callback on any thread; an update swaps one immutable snapshot.
/// </summary>
internal sealed class SessionTicketKeyRing
{
    public const int KeyLength = 80;
    public const int NameLength = 16;
    public const int SecretLength = 32;

    /// <summary>More keys than this in one update is a configuration mistake, not a rotation.</summary>
    public const int MaxKeys = 16;

    private volatile Snapshot _snapshot;

    public SessionTicketKeyRing(ReadOnlySpan<byte> keys)
    {
        _snapshot = new Snapshot(Parse(keys, "SessionTicketKeys"), []);
    }

    /// <summary>Checks a key set as <see cref="Update"/> and the options take it: one or more 80-byte keys, at most <see cref="MaxKeys"/>.</summary>
    public static string? Problem(int length) => length switch
    {
        0 => "no key was given",
        _ when length % KeyLength != 0 => $"{length} bytes is not a whole number of {KeyLength}-byte keys (16-byte name, 32-byte HMAC secret, 32-byte AES key)",
        _ when length / KeyLength > MaxKeys => $"{length / KeyLength} keys is more than {MaxKeys}",
        _ => null,
    };

    /// <summary>
    /// Installs <paramref name="keys"/> (newest first); the keys installed until now keep decrypting until the
    /// next update. The same keys again change nothing (they would otherwise retire the retired keys early).
    /// </summary>
    public void Update(ReadOnlySpan<byte> keys, string parameterName)
    {
        TicketKey[] given = Parse(keys, parameterName);
        Snapshot old = _snapshot;
        if (given.Length == old.Given.Length && given.Zip(old.Given).All(p => p.First.Name.AsSpan().SequenceEqual(p.Second.Name)
            && p.First.Hmac.AsSpan().SequenceEqual(p.Second.Hmac) && p.First.Aes.AsSpan().SequenceEqual(p.Second.Aes)))
        {
            return;
        }

        TicketKey[] retired = old.Given.Where(o => !given.Any(g => g.Name.AsSpan().SequenceEqual(o.Name))).ToArray();
        _snapshot = new Snapshot(given, retired);
    }

    /// <summary>The key for new tickets.</summary>
    public TicketKey Current => _snapshot.Given[0];

    /// <summary>The key named <paramref name="name"/>, and whether it is the current one; null if unknown.</summary>
    public TicketKey? Find(ReadOnlySpan<byte> name, out bool current)
    {
        Snapshot s = _snapshot;
        current = false;
        for (int i = 0; i < s.Given.Length; i++)
        {
            if (name.SequenceEqual(s.Given[i].Name))
            {
                current = i == 0;
                return s.Given[i];
            }
        }

        foreach (TicketKey key in s.Retired)
        {
            if (name.SequenceEqual(key.Name))
            {
                return key;
            }
        }

        return null;
    }

    private static TicketKey[] Parse(ReadOnlySpan<byte> keys, string parameterName)
    {
        if (Problem(keys.Length) is { } problem)
        {
            throw new ArgumentException($"{parameterName}: {problem}.", parameterName);
        }

        var parsed = new TicketKey[keys.Length / KeyLength];
        for (int i = 0; i < parsed.Length; i++)
        {
            ReadOnlySpan<byte> key = keys.Slice(i * KeyLength, KeyLength);
            parsed[i] = new TicketKey(key.Slice(0, NameLength).ToArray(), key.Slice(NameLength, SecretLength).ToArray(), key.Slice(NameLength + SecretLength).ToArray());
        }

        if (parsed.Select(k => Convert.ToHexString(k.Name)).Distinct(StringComparer.Ordinal).Count() != parsed.Length)
        {
            throw new ArgumentException($"{parameterName}: two keys have the same 16-byte name; a ticket names the key that decrypts it, so names must differ.", parameterName);
        }

        return parsed;
    }

    /// <summary>
    /// The body of OpenSSL's ticket key callback. Encrypting: names the current key, draws the IV and
    /// keys both contexts; returns 1. Decrypting: 0 for an unknown name (OpenSSL then does a full handshake
    /// and issues a new ticket), 1 for the current key, 2 for an older one (resume, and renew the ticket
    /// under the current key), -1 if OpenSSL refused a key.
    /// </summary>
    public unsafe int Apply(byte* keyName, byte* iv, nint cipherContext, nint macContext, bool encrypt)
    {
        TicketKey key;
        int result;
        if (encrypt)
        {
            key = Current;
            RandomNumberGenerator.Fill(new Span<byte>(iv, LibCrypto.EVP_MAX_IV_LENGTH));
            key.Name.CopyTo(new Span<byte>(keyName, NameLength));
            result = 1;
        }
        else
        {
            if (Find(new ReadOnlySpan<byte>(keyName, NameLength), out bool current) is not { } found)
            {
                return 0;
            }

            key = found;
            result = current ? 1 : 2;
        }

        if (!SetMacKey(macContext, key.Hmac))
        {
            return -1;
        }

        fixed (byte* aes = key.Aes)
        {
            int ok = encrypt
                ? LibCrypto.EVP_EncryptInit_ex(cipherContext, LibCrypto.EVP_aes_256_cbc(), 0, aes, iv)
                : LibCrypto.EVP_DecryptInit_ex(cipherContext, LibCrypto.EVP_aes_256_cbc(), 0, aes, iv);
            return ok == 1 ? result : -1;
        }
    }

    // As OpenSSL's own ticket code (ssl_hmac_init): HMAC with SHA256 keyed by the 32-byte secret.
    private static unsafe bool SetMacKey(nint macContext, byte[] secret)
    {
        OSSL_PARAM* parameters = stackalloc OSSL_PARAM[3];
        fixed (byte* keyName = LibCrypto.OSSL_MAC_PARAM_KEY)
        fixed (byte* digestName = LibCrypto.OSSL_MAC_PARAM_DIGEST)
        fixed (byte* sha256 = "SHA256\0"u8)
        fixed (byte* key = secret)
        {
            parameters[0] = LibCrypto.OSSL_PARAM_construct_octet_string(keyName, key, (nuint)secret.Length);
            parameters[1] = LibCrypto.OSSL_PARAM_construct_utf8_string(digestName, sha256, 0);
            parameters[2] = LibCrypto.OSSL_PARAM_construct_end();
            return LibCrypto.EVP_MAC_CTX_set_params(macContext, parameters) == 1;
        }
    }

    /// <summary>One 80-byte key, split.</summary>
    internal sealed record TicketKey(byte[] Name, byte[] Hmac, byte[] Aes);

    private sealed record Snapshot(TicketKey[] Given, TicketKey[] Retired);
}
