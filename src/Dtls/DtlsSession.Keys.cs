using System.Buffers.Binary;
using System.Text;
using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>Keys and identities a session negotiated: the PSK identity, RFC 5705 exporters, DTLS-SRTP keys.</summary>
public sealed partial class DtlsSession
{
    // DTLS handshake header (RFC 6347 §4.2.2): type, length, message_seq, fragment_offset, fragment_length.
    private const int HandshakeHeaderLength = 12;
    private const byte ClientKeyExchange = 16;

    private byte[]? _pskIdentity;
    private byte[]? _wireIdentity;

    /// <summary>
    /// The PSK identity, as the exact bytes on the wire (RFC 4279 §5.1): on a server the one the
    /// client presented (also when it was refused), on a client the one it sent. Null without PSK.
    /// </summary>
    // Spelled out: the implicit byte[] -> ReadOnlyMemory<byte> conversion turns a bare null (even the
    // null branch of ?:) into an empty, non-null value.
    public ReadOnlyMemory<byte>? PskIdentity
    {
        get
        {
            if (_pskIdentity is null)
            {
                return default(ReadOnlyMemory<byte>?);
            }

            return new ReadOnlyMemory<byte>(_pskIdentity);
        }
    }

    /// <summary><see cref="PskIdentity"/> as text when it is valid UTF-8, else null (never a lossy decoding).</summary>
    public string? PskIdentityText => _pskIdentity is null ? null : DtlsPskRequest.TryDecode(_pskIdentity);

    internal byte[]? PskIdentityBytes
    {
        set => _pskIdentity = value;
    }

    /// <summary>
    /// Exports keying material with no context (RFC 5705 §4, OpenSSL's <c>use_context = 0</c>): what
    /// DTLS-SRTP (RFC 5764 §4.2), <c>openssl -keymatexport</c> and <c>gnutls-cli --keymatexport</c> use.
    /// </summary>
    /// <param name="label">The exporter label, ASCII (for example "EXTRACTOR-dtls_srtp").</param>
    /// <param name="length">Bytes to export, at least 1.</param>
    /// <exception cref="InvalidOperationException">The handshake has not completed.</exception>
    /// <exception cref="ArgumentException">The label is empty or not ASCII, or the length is not positive.</exception>
    public byte[] ExportKeyingMaterial(string label, int length) => Export(label, [], length, useContext: false);

    /// <summary>
    /// Exports keying material with a context value (RFC 5705 §4). An empty context is a different
    /// input from no context: use <see cref="ExportKeyingMaterial(string, int)"/> for no context. A name
    /// of its own, not an overload, so that <c>ExportKeyingMaterial(label, default, length)</c> cannot
    /// silently mean "empty context" where "no context" (what DTLS-SRTP and the peers' tools use) was meant.
    /// </summary>
    /// <param name="label">The exporter label, ASCII.</param>
    /// <param name="context">The context value, 0 to 65535 bytes (may be empty).</param>
    /// <param name="length">Bytes to export, at least 1.</param>
    /// <exception cref="InvalidOperationException">The handshake has not completed.</exception>
    /// <exception cref="ArgumentException">The label is empty or not ASCII, the context is over 65535 bytes, or the length is not positive.</exception>
    public byte[] ExportKeyingMaterialWithContext(string label, ReadOnlySpan<byte> context, int length)
    {
        if (context.Length > ushort.MaxValue)
        {
            throw new ArgumentException("An exporter context is at most 65535 bytes (RFC 5705 §4).", nameof(context));
        }

        return Export(label, context, length, useContext: true);
    }

    /// <summary>
    /// The DTLS-SRTP master keys and salts of the negotiated profile (RFC 5764 §4.2): exports
    /// "EXTRACTOR-dtls_srtp" with no context, 2 × (key + salt) bytes, and splits it as
    /// client key, server key, client salt, server salt.
    /// </summary>
    /// <exception cref="InvalidOperationException">The handshake has not completed, or no SRTP profile was negotiated.</exception>
    public DtlsSrtpKeys GetSrtpKeys()
    {
        string profile = SrtpProfile ?? throw new InvalidOperationException(
            IsAuthenticated ? "No DTLS-SRTP profile was negotiated (set DtlsOptions.SrtpProfiles on both sides)." : "The handshake has not completed; call ConnectAsync or AcceptAsync first.");
        (int keyLength, int saltLength) = DtlsSrtpKeys.Lengths(profile);
        byte[] material = ExportKeyingMaterial("EXTRACTOR-dtls_srtp", 2 * (keyLength + saltLength));
        return new DtlsSrtpKeys(
            profile,
            material.AsSpan(0, keyLength).ToArray(),
            material.AsSpan(2 * keyLength, saltLength).ToArray(),
            material.AsSpan(keyLength, keyLength).ToArray(),
            material.AsSpan((2 * keyLength) + saltLength, saltLength).ToArray());
    }

    /// <summary>
    /// Message callback on PSK servers: keeps the identity bytes of the ClientKeyExchange
    /// (RFC 4279 §2/§5.1, RFC 5489 §2: a 2-byte length and the identity come first), because the
    /// server callback only gets them cut at the first zero byte.
    /// </summary>
    internal void CaptureClientKeyExchange(ReadOnlySpan<byte> message)
    {
        if (message.Length < HandshakeHeaderLength + 2 || message[0] != ClientKeyExchange)
        {
            return;
        }

        ReadOnlySpan<byte> body = message[HandshakeHeaderLength..];
        int length = BinaryPrimitives.ReadUInt16BigEndian(body);
        _wireIdentity = body.Length >= 2 + length ? body.Slice(2, length).ToArray() : null;
    }

    /// <summary>The exact identity: the captured wire bytes if OpenSSL's C string is their prefix up to a zero byte, else the C string.</summary>
    internal byte[] TakeWireIdentity(ReadOnlySpan<byte> cString)
    {
        byte[]? wire = _wireIdentity;
        _wireIdentity = null;
        bool agrees = wire is not null && wire.AsSpan().StartsWith(cString) && (wire.Length == cString.Length || wire[cString.Length] == 0);
        return agrees ? wire! : cString.ToArray();
    }

    private unsafe byte[] Export(string label, ReadOnlySpan<byte> context, int length, bool useContext)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (!Ascii.IsValid(label))
        {
            throw new ArgumentException("An exporter label is ASCII (RFC 5705 §4).", nameof(label));
        }

        byte[] output = new byte[length];
        byte[] labelBytes = Encoding.ASCII.GetBytes(label);
        lock (_lock)
        {
            ThrowIfNotEstablished();
            fixed (byte* o = output)
            fixed (byte* l = labelBytes)
            fixed (byte* c = context)
            {
                ErrorQueue.Clear();
                ErrorQueue.ThrowIfNotOne(SSL_export_keying_material(_ssl, o, (nuint)length, l, (nuint)labelBytes.Length, c, (nuint)context.Length, useContext ? 1 : 0), "SSL_export_keying_material");
            }
        }

        return output;
    }
}
