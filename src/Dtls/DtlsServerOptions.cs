namespace OpenSsl.Dtls;

/// <summary>Settings of a DTLS server.</summary>
public sealed class DtlsServerOptions : DtlsOptions
{
    /// <summary>Ask every client for a certificate and fail the handshake without one.</summary>
    public bool RequireClientCertificate { get; init; }

    /// <summary>Ask clients for a certificate but accept clients without one (verified when sent).</summary>
    public bool RequestClientCertificate { get; init; }

    /// <summary>The identity hint sent to PSK clients.</summary>
    public string? PskIdentityHint { get; init; }

    /// <summary>
    /// Looks up the pre-shared key for a client's identity; null (or an empty key) rejects the
    /// client. Setting it enables the PSK cipher suites.
    /// </summary>
    public Func<string, ReadOnlyMemory<byte>?>? PskKeyLookup { get; init; }

    /// <summary>Sessions the server caches for resumption by ID. 0 turns the cache off. Default 1024.</summary>
    public int SessionCacheSize { get; init; } = 1024;

    /// <summary>
    /// 80 bytes of session-ticket keys (16-byte name, 32-byte HMAC key, 32-byte AES key), so that a
    /// fleet of servers can resume each other's sessions. Empty (the default) lets OpenSSL pick random
    /// keys per context; tickets then survive only as long as the context.
    /// </summary>
    public ReadOnlyMemory<byte> SessionTicketKeys { get; init; }

    /// <summary>Issue session tickets (RFC 5077). Default true.</summary>
    public bool EnableSessionTickets { get; init; } = true;

    internal override bool IsServer => true;
}
