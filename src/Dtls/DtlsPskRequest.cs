using System.Net;
using System.Text;

namespace OpenSsl.Dtls;

/// <summary>
/// What a PSK server knows when it must choose a key (<see cref="DtlsServerOptions.PskKeyLookup"/>):
/// the identity exactly as the client sent it, and where the client is.
/// </summary>
public sealed class DtlsPskRequest
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    internal DtlsPskRequest(ReadOnlyMemory<byte> identity, EndPoint? remoteEndPoint)
    {
        Identity = identity;
        RemoteEndPoint = remoteEndPoint;
    }

    /// <summary>The identity's bytes from the ClientKeyExchange (RFC 4279 §5.1), unaltered. May hold any byte value.</summary>
    public ReadOnlyMemory<byte> Identity { get; }

    /// <summary>
    /// The identity as text when its bytes are valid UTF-8 (so that the text maps back to exactly
    /// these bytes); null otherwise. Never a lossy decoding: U+FFFD never stands in for a byte.
    /// </summary>
    public string? IdentityText => TryDecode(Identity.Span);

    /// <summary>The client's address and port (an <see cref="IPEndPoint"/> for UDP sessions).</summary>
    public EndPoint? RemoteEndPoint { get; }

    internal static string? TryDecode(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    internal static byte[]? TryEncode(string text)
    {
        try
        {
            return StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException)
        {
            return null;
        }
    }
}
