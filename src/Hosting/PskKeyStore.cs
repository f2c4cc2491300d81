using System.Text;

namespace OpenSsl.Dtls.Hosting;

/// <summary>
/// The pre-shared keys of <see cref="DtlsHostedListenerOptions.PskKeys"/> and
/// <see cref="DtlsHostedListenerOptions.PskKeysFile"/>, read once when the service starts, as the
/// server's <see cref="DtlsServerOptions.PskKeyLookup"/>. Identities are compared by their exact bytes.
/// </summary>
internal sealed class PskKeyStore
{
    // Keyed by the identity's bytes as hex: two identities differing in any byte are different keys.
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);

    public int Count => _keys.Count;

    /// <summary>Reads both sources; a malformed entry is an <see cref="ArgumentException"/> naming the option and the entry.</summary>
    public static PskKeyStore Load(DtlsHostedListenerOptions options)
    {
        var store = new PskKeyStore();
        foreach ((string identity, string key) in options.PskKeys)
        {
            store.Add(Encoding.UTF8.GetBytes(identity), key, nameof(options.PskKeys), $"identity '{identity}'");
        }

        if (options.PskKeysFile is { } path)
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw HostingErrors.Invalid(nameof(options.PskKeysFile), $"{nameof(options.PskKeysFile)}: cannot read '{path}': {e.Message}", e);
            }

            for (int i = 0; i < lines.Length; i++)
            {
                string line = lines[i].Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                int colon = line.LastIndexOf(':');
                string where = $"'{path}' line {i + 1}";
                if (colon <= 0)
                {
                    throw HostingErrors.Invalid(nameof(options.PskKeysFile), $"{nameof(options.PskKeysFile)}: {where} is not IDENTITY:HEXKEY.");
                }

                store.Add(Identity(line[..colon], where), line[(colon + 1)..], nameof(options.PskKeysFile), where);
            }
        }

        return store;
    }

    public ReadOnlyMemory<byte>? Lookup(DtlsPskRequest request) =>
        _keys.TryGetValue(Convert.ToHexString(request.Identity.Span), out byte[]? key) ? key : null;

    // "hex:0102" names an identity that is not text, as the samples' --psk does.
    private static byte[] Identity(string text, string where)
    {
        if (!text.StartsWith("hex:", StringComparison.Ordinal))
        {
            return Encoding.UTF8.GetBytes(text);
        }

        try
        {
            return Convert.FromHexString(text["hex:".Length..]);
        }
        catch (FormatException e)
        {
            throw HostingErrors.Invalid(nameof(DtlsHostedListenerOptions.PskKeysFile), $"{nameof(DtlsHostedListenerOptions.PskKeysFile)}: {where}: the identity '{text}' is not hex:BYTES.", e);
        }
    }

    private void Add(byte[] identity, string hexKey, string setting, string where)
    {
        byte[] key;
        try
        {
            key = Convert.FromHexString(hexKey.Trim());
        }
        catch (FormatException e)
        {
            throw HostingErrors.Invalid(setting, $"{setting}: {where}: the key is not hex (an even number of hex digits).", e);
        }

        if (identity.Length is 0 or > DtlsPskLimits.MaxIdentityBytes)
        {
            throw HostingErrors.Invalid(setting, $"{setting}: {where}: an identity must be 1 to {DtlsPskLimits.MaxIdentityBytes} bytes.");
        }

        if (key.Length is 0 or > DtlsPskLimits.MaxKeyBytes)
        {
            throw HostingErrors.Invalid(setting, $"{setting}: {where}: a key must be 1 to {DtlsPskLimits.MaxKeyBytes} bytes, not {key.Length}.");
        }

        if (!_keys.TryAdd(Convert.ToHexString(identity), key))
        {
            throw HostingErrors.Invalid(setting, $"{setting}: {where}: the identity is given twice (one key per identity).");
        }
    }
}
