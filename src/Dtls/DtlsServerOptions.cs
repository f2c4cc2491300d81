namespace OpenSsl.Dtls;

/// <summary>Settings of a DTLS server.</summary>
public sealed partial class DtlsServerOptions : DtlsOptions
{
    /// <summary>Ask every client for a certificate and fail the handshake without one.</summary>
    public bool RequireClientCertificate { get; set; }

    /// <summary>Ask clients for a certificate but accept clients without one (verified when sent).</summary>
    public bool RequestClientCertificate { get; set; }

    /// <summary>The identity hint sent to PSK clients (RFC 4279 §2), as text. Needs <see cref="PskKeyLookup"/> or <see cref="PskKeyLookupAsync"/>.</summary>
    public string? PskIdentityHint { get; set; }

    /// <summary>
    /// Looks up the pre-shared key for a client: the request carries the identity's exact bytes
    /// (two identities that differ in any byte are different requests) and the client's endpoint.
    /// Return the key (1 to <see cref="DtlsPskLimits.MaxKeyBytes"/> bytes), or null or an empty key
    /// to reject the client with an unknown_psk_identity alert. Runs on the thread processing the
    /// client's ClientKeyExchange, inside OpenSSL's <c>psk_server_callback</c> (on a
    /// <see cref="DtlsListener"/>, its receive loop, which serves every peer): keep it fast and do not
    /// block (use <see cref="PskKeyLookupAsync"/> for a store that can be slow); an exception it throws fails that handshake with the exception. Setting it enables
    /// the PSK cipher suites (see <see cref="DtlsOptions.CipherList"/>).
    /// </summary>
    public Func<DtlsPskRequest, ReadOnlyMemory<byte>?>? PskKeyLookup { get; set; }

    /// <summary>
    /// Looks up the pre-shared key for a client asynchronously, for key stores that must not be
    /// waited on inside OpenSSL (a database, a device registry). The request carries the identity's
    /// exact bytes and the client's endpoint; the token is cancelled when the handshake ends first
    /// (<see cref="DtlsOptions.HandshakeTimeout"/>, disposal, the listener stopping). Return the key
    /// (1 to <see cref="DtlsPskLimits.MaxKeyBytes"/> bytes; it is copied at once), or null or an empty
    /// key to reject the client with an unknown_psk_identity alert (RFC 4279 §2); an exception it
    /// throws (or a cancellation) fails that handshake only, with the unknown_psk_identity alert and
    /// a <see cref="DtlsException"/> holding the exception as its inner exception.
    /// <para>
    /// How it runs: before OpenSSL sees a DTLS 1.2 ClientKeyExchange, the session reads the identity
    /// from it (a uint16-length-prefixed opaque at its start for PSK, DHE_PSK, RSA_PSK and ECDHE_PSK:
    /// RFC 4279 §2, RFC 5489 §2; reassembled when the message comes in fragments; at most 128 bytes,
    /// OpenSSL's PSK_MAX_IDENTITY_LEN), starts this lookup on the thread pool, and holds that
    /// datagram and the peer's later ones until it completes; then OpenSSL's
    /// <c>psk_server_callback</c> (SSL_CTX_set_psk_server_callback(3)) takes the result. One lookup
    /// per handshake: a retransmitted ClientKeyExchange does not start another. The receive loop
    /// never waits, so a slow lookup delays only its own handshake. A <see cref="DtlsListener"/>
    /// bounds the lookups in flight (<see cref="DtlsListenerOptions.MaxPendingPskLookups"/>). The
    /// <see cref="CancellationToken"/> is cancelled when the handshake ends before the lookup returns
    /// (HandshakeTimeout, a failure, the session disposed): honour it. A lookup that ignores it keeps
    /// running, but gives its place in that bound back with its handshake; a listener counts it in
    /// <see cref="DtlsListenerStatistics.PskLookupsAbandoned"/> and logs a Warning. Called
    /// on a thread-pool thread, concurrently for different clients. Set this or
    /// <see cref="PskKeyLookup"/>, not both; setting it enables the PSK cipher suites. DTLS 1.2 only
    /// (DTLS 1.3 sends the identity in the ClientHello): on a libssl that has DTLS 1.3 it needs
    /// <see cref="DtlsOptions.MaximumProtocol"/> = <see cref="DtlsProtocolVersion.Dtls12"/>. Default null.
    /// </para>
    /// </summary>
    public Func<DtlsPskRequest, CancellationToken, ValueTask<ReadOnlyMemory<byte>?>>? PskKeyLookupAsync { get; set; }

    /// <summary>
    /// Chooses the certificate by the name the client asked for (Server Name Indication, RFC 6066
    /// §3), as <c>SslServerAuthenticationOptions.ServerCertificateSelectionCallback</c> does: called
    /// with the host name from the ClientHello (null when the client sent none), it returns the
    /// server <see cref="DtlsContext"/> whose certificate chain and key this handshake uses, or null
    /// to keep this context's own. OpenSSL's <c>SSL_set_SSL_CTX</c> moves the session to that context
    /// (SSL_CTX_set_tlsext_servername_callback(3)): it takes the certificate, key and chain from it;
    /// everything else (protocols, ciphers, PSK, client-certificate policy, session cache and
    /// tickets, callbacks) stays this context's. The returned context must be a live server context;
    /// the session keeps a native reference to it, so it may be disposed while sessions still use
    /// it, but not before the selector stops returning it. Runs on the thread processing the
    /// ClientHello, inside OpenSSL (a listener's receive loop): keep it to a dictionary lookup. An
    /// exception, a client context or a disposed one fails that handshake with an internal_error
    /// alert and a <see cref="DtlsException"/> (or the exception). The name is also in
    /// <see cref="DtlsSession.TargetHostName"/>. Default null (one certificate for every name).
    /// </summary>
    public Func<string?, DtlsContext?>? ServerContextSelector { get; set; }

    /// <summary>Sessions the server caches for resumption by ID. 0 turns the cache off. Default 1024.</summary>
    public int SessionCacheSize { get; set; } = 1024;

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
    public ReadOnlyMemory<byte> SessionTicketKeys { get; set; }

    /// <summary>Issue session tickets (RFC 5077). Default true.</summary>
    public bool EnableSessionTickets { get; set; } = true;

    internal override bool IsServer => true;

    /// <summary>A PSK key store is configured (<see cref="PskKeyLookup"/> or <see cref="PskKeyLookupAsync"/>).</summary>
    internal bool HasPskLookup => PskKeyLookup is not null || PskKeyLookupAsync is not null;
}
