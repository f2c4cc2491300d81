using OpenSsl.Dtls;

namespace OpenSslDtls.Samples.CoapServer;

/// <summary>
/// The pre-shared keys of the devices this server knows, one per PSK identity (RFC 4279 §5:
/// the identity names the device, the key is its secret). The one place where an identity the
/// client sent in its ClientKeyExchange becomes a key.
/// </summary>
internal sealed class DeviceKeys
{
    // Keyed by the identity's bytes as hex: identities are compared byte for byte, never as decoded text.
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);

    public int Count => _keys.Count;

    /// <summary>Parses each <c>IDENTITY:HEXKEY</c>; null with <paramref name="error"/> set on a malformed or repeated identity.</summary>
    public static DeviceKeys? Parse(IEnumerable<string> arguments, out string? error)
    {
        var keys = new DeviceKeys();
        error = null;
        foreach (string argument in arguments)
        {
            if (!SampleArguments.TryParsePsk(argument, out byte[] identity, out byte[] key, out error))
            {
                return null;
            }

            if (!keys._keys.TryAdd(Convert.ToHexString(identity), key))
            {
                error = $"--psk identity '{argument[..argument.LastIndexOf(':')]}' is given twice (one key per device identity)";
                return null;
            }
        }

        return keys;
    }

    /// <summary>
    /// The key of the identity the client sent, or null to refuse the handshake (OpenSSL then sends
    /// the unknown_psk_identity alert). Used as <c>DtlsServerOptions.PskKeyLookup</c>.
    /// </summary>
    public ReadOnlyMemory<byte>? Lookup(DtlsPskRequest request) =>
        _keys.TryGetValue(Convert.ToHexString(request.Identity.Span), out byte[]? key) ? key : null;
}
