namespace OpenSsl.Dtls;

/// <summary>Settings of a DTLS server.</summary>
public sealed class DtlsServerOptions : DtlsOptions
{
    /// <summary>Ask every client for a certificate and fail the handshake without one.</summary>
    public bool RequireClientCertificate { get; init; }

    /// <summary>Ask clients for a certificate but accept clients without one (verified when sent).</summary>
    public bool RequestClientCertificate { get; init; }

    /// <summary>The identity hint sent to PSK clients (RFC 4279 §2), as text. Needs <see cref="PskKeyLookup"/>.</summary>
    public string? PskIdentityHint { get; init; }

    /// <summary>
    /// Looks up the pre-shared key for a client: the request carries the identity's exact bytes
    /// (two identities that differ in any byte are different requests) and the client's endpoint.
    /// Return the key (1 to <see cref="DtlsPskLimits.MaxKeyBytes"/> bytes), or null or an empty key
    /// to reject the client with an unknown_psk_identity alert. Runs on the thread processing the
    /// client's ClientKeyExchange, inside OpenSSL's <c>psk_server_callback</c>: keep it fast and do
    /// not block; an exception it throws fails that handshake with the exception. Setting it enables
    /// the PSK cipher suites (see <see cref="DtlsOptions.CipherList"/>).
    /// </summary>
    public Func<DtlsPskRequest, ReadOnlyMemory<byte>?>? PskKeyLookup { get; init; }

    /// <summary>Sessions the server caches for resumption by ID. 0 turns the cache off. Default 1024.</summary>
    public int SessionCacheSize { get; init; } = 1024;

    /// <summary>
    /// Session-ticket keys (RFC 5077), so that a fleet of servers resumes each other's sessions: one or
    /// more (at most 16) keys of 80 bytes each, newest first, laid out as OpenSSL's
    /// <c>SSL_CTX_set_tlsext_ticket_keys</c> takes them: 16-byte name, 32-byte HMAC-SHA256 secret, 32-byte
    /// AES-256 key. The first key encrypts new tickets; every key decrypts, and a ticket under an older key
    /// resumes and is renewed under the first. Rotate them on a running server with
    /// <see cref="DtlsContext.UpdateSessionTicketKeys"/> (or <c>DtlsListener.UpdateSessionTicketKeys</c>).
    /// Empty (the default) lets OpenSSL pick random keys per context; tickets then survive only as long as
    /// the context, and cannot be rotated by hand.
    /// </summary>
    public ReadOnlyMemory<byte> SessionTicketKeys { get; init; }

    /// <summary>Issue session tickets (RFC 5077). Default true.</summary>
    public bool EnableSessionTickets { get; init; } = true;

    internal override bool IsServer => true;
}
