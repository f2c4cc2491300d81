namespace OpenSsl.Dtls;

/// <summary>
/// A PSK identity and its key, as a client's <see cref="DtlsClientOptions.PskCredentialSelector"/>
/// returns them once it has seen the server's identity hint (RFC 4279 §2). Checked when it is made,
/// with the same limits as <see cref="DtlsClientOptions.PskIdentity"/> and
/// <see cref="DtlsClientOptions.PskKey"/>. The bytes are copied: later changes to the caller's
/// buffers do not reach it.
/// </summary>
public sealed class DtlsPskCredential
{
    /// <summary>A credential whose identity is the given bytes.</summary>
    /// <param name="identity">1 to <see cref="DtlsPskLimits.MaxIdentityBytes"/> bytes, no zero byte (OpenSSL sends the identity as a C string).</param>
    /// <param name="key">1 to <see cref="DtlsPskLimits.MaxKeyBytes"/> bytes.</param>
    /// <exception cref="ArgumentException">The identity or key is empty, too long, or the identity holds a zero byte.</exception>
    public DtlsPskCredential(ReadOnlySpan<byte> identity, ReadOnlySpan<byte> key)
    {
        if (identity.IsEmpty || identity.Length > DtlsPskLimits.MaxIdentityBytes || identity.Contains((byte)0))
        {
            throw new ArgumentException($"A PSK identity is 1 to {DtlsPskLimits.MaxIdentityBytes} bytes without a zero byte; this one has {identity.Length} bytes{(identity.Contains((byte)0) ? " and a zero byte" : string.Empty)}.", nameof(identity));
        }

        if (key.IsEmpty || key.Length > DtlsPskLimits.MaxKeyBytes)
        {
            throw new ArgumentException($"A pre-shared key is 1 to {DtlsPskLimits.MaxKeyBytes} bytes; this one has {key.Length}.", nameof(key));
        }

        Identity = identity.ToArray();
        Key = key.ToArray();
    }

    /// <summary>A credential whose identity is the UTF-8 bytes of <paramref name="identityText"/>.</summary>
    /// <exception cref="ArgumentException">The text has no exact UTF-8 form (a lone surrogate), or the limits of the other constructor are not met.</exception>
    public DtlsPskCredential(string identityText, ReadOnlySpan<byte> key)
        : this(DtlsPskRequest.TryEncode(identityText ?? throw new ArgumentNullException(nameof(identityText)))
            ?? throw new ArgumentException("The identity text has no exact UTF-8 form (it holds a lone surrogate).", nameof(identityText)), key)
    {
    }

    /// <summary>The identity's bytes, sent in the ClientKeyExchange (RFC 4279 §2).</summary>
    public ReadOnlyMemory<byte> Identity { get; }

    /// <summary>The pre-shared key.</summary>
    public ReadOnlyMemory<byte> Key { get; }
}
