namespace OpenSsl.Dtls;

/// <summary>Settings of a DTLS client.</summary>
public sealed partial class DtlsClientOptions : DtlsOptions
{
    /// <summary>
    /// The server's name: sent as SNI and checked against the server certificate's names (a DNS
    /// name or an IP address literal). Required when certificates are verified by chain, unless
    /// pins are set.
    /// </summary>
    public string? TargetHost { get; set; }

    /// <summary>
    /// The identity sent for a pre-shared key, as the exact bytes the server receives (RFC 4279 §5.1:
    /// an opaque byte string). 1 to <see cref="DtlsPskLimits.MaxIdentityBytes"/> bytes, no zero byte:
    /// OpenSSL's <c>psk_client_callback</c> (SSL_CTX_set_psk_client_callback(3)) returns the identity
    /// as a C string and sends it up to its first NUL, so an identity holding 0x00 would be cut short
    /// on the wire; it is refused when the context is created instead. Set this or
    /// <see cref="PskIdentityText"/> (not both), together with <see cref="PskKey"/>.
    /// </summary>
    public ReadOnlyMemory<byte> PskIdentity { get; set; }

    /// <summary>
    /// Convenience for a textual identity: sent as its UTF-8 bytes. Text that has no exact UTF-8
    /// form (a lone surrogate) is refused when the context is created, never replaced. The same
    /// limits as <see cref="PskIdentity"/> apply to the encoded bytes.
    /// </summary>
    public string? PskIdentityText { get; set; }

    /// <summary>
    /// The pre-shared key, 1 to <see cref="DtlsPskLimits.MaxKeyBytes"/> bytes. Setting it (with an
    /// identity) enables the PSK cipher suites; see <see cref="DtlsOptions.CipherList"/> for the defaults.
    /// </summary>
    public ReadOnlyMemory<byte> PskKey { get; set; }

    /// <summary>
    /// Chooses the PSK identity and key by the server's identity hint (RFC 4279 §2, the
    /// ServerKeyExchange's psk_identity_hint; <c>openssl s_server -psk_hint</c>), for a client that
    /// holds credentials for several servers or tenants: called with the hint's bytes (empty when the
    /// server sent none) from OpenSSL's <c>psk_client_callback</c> (SSL_CTX_set_psk_client_callback(3)),
    /// on the thread processing the server's flight, it returns the credential to use, or null to
    /// abandon the handshake. An exception it throws fails the handshake with a
    /// <see cref="DtlsException"/> holding it. Set this instead of <see cref="PskIdentity"/> or
    /// <see cref="PskIdentityText"/> and <see cref="PskKey"/>; it enables the PSK cipher suites as
    /// those do. Default null.
    /// </summary>
    public Func<ReadOnlyMemory<byte>, DtlsPskCredential?>? PskCredentialSelector { get; set; }

    /// <summary>A pre-shared key is configured: <see cref="PskKey"/> or <see cref="PskCredentialSelector"/>.</summary>
    internal bool HasPsk => !PskKey.IsEmpty || PskCredentialSelector is not null;

    /// <summary>
    /// Resume earlier sessions with the same server (same <see cref="TargetHost"/> and endpoint)
    /// from a per-context cache of tickets and IDs. Default true.
    /// </summary>
    public bool AllowSessionResumption { get; set; } = true;

    internal override bool IsServer => false;
}
