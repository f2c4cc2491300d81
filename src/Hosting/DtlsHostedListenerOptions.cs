namespace OpenSsl.Dtls.Hosting;

/// <summary>
/// The settings of one hosted DTLS listener, shaped for configuration binding (every property has a
/// setter and a usable default). A configuration section such as
/// <code>
/// "Dtls": {
///   "Endpoints": [ { "Address": "127.0.0.1", "Port": 4433 } ],
///   "Server": { "CertificateChainFile": "server.crt", "PrivateKeyFile": "server.key", "CaFile": "ca.crt" },
///   "Listener": { "MaxSessions": 10000, "IdleTimeout": "00:05:00" },
///   "PskKeys": { "device-1": "00112233445566778899aabbccddeeff" },
///   "PskKeysFile": "psk.txt",
///   "CookieSecretFile": "/run/secrets/dtls-cookie",
///   "TicketKeysFile": "/run/secrets/dtls-tickets"
/// }
/// </code>
/// binds to it through <see cref="DtlsHostingServiceCollectionExtensions.AddDtlsListener(Microsoft.Extensions.DependencyInjection.IServiceCollection, Microsoft.Extensions.Configuration.IConfiguration)"/>.
/// The service reads these options once, when it starts; each <see cref="DtlsListener"/> then works from
/// its own copy (docs/architecture.md, options are snapshotted), so changing them later has no effect.
/// </summary>
/// <remarks>
/// A fleet shares its secrets through <see cref="CookieSecretFile"/> and <see cref="TicketKeysFile"/>
/// (docs/deployment.md); those files are read again while the service runs, so they rotate without a restart.
/// </remarks>
public sealed class DtlsHostedListenerOptions
{
    /// <summary>Where to listen: one <see cref="DtlsListener"/> per endpoint. At least one is required.</summary>
    public IList<DtlsListenEndpoint> Endpoints { get; set; } = new List<DtlsListenEndpoint>();

    /// <summary>
    /// The server's DTLS settings (configuration: <c>Server:CertificateChainFile</c>, <c>Server:PrivateKeyFile</c>,
    /// <c>Server:CaFile</c>, <c>Server:RequireClientCertificate</c>, <c>Server:Mtu</c>, <c>Server:HandshakeTimeout</c>,
    /// ...: every property of <see cref="DtlsServerOptions"/> that configuration can express). Validated when
    /// the service starts, with an <see cref="ArgumentException"/> naming the option.
    /// </summary>
    public DtlsServerOptions Server { get; set; } = new();

    /// <summary>
    /// The listener's limits (configuration: <c>Listener:MaxSessions</c>, <c>Listener:MaxPendingHandshakes</c>,
    /// <c>Listener:IdleTimeout</c>, <c>Listener:ReceiveLoops</c>, ...). Its <see cref="DtlsListenerOptions.LocalEndPoint"/>
    /// and <see cref="DtlsListenerOptions.ServerOptions"/> are set by the service from <see cref="Endpoints"/> and
    /// <see cref="Server"/>; <see cref="DtlsListenerOptions.MaxSessions"/> and the other limits apply to each endpoint.
    /// </summary>
    public DtlsListenerOptions Listener { get; set; } = new();

    /// <summary>
    /// Pre-shared keys by identity (the identity is sent as its UTF-8 bytes; the key is hex, 1 to
    /// <see cref="DtlsPskLimits.MaxKeyBytes"/> bytes). With <see cref="PskKeysFile"/>, or alone, it makes
    /// the server's <see cref="DtlsServerOptions.PskKeyLookup"/> (which, like <see cref="DtlsServerOptions.PskKeyLookupAsync"/>,
    /// must then not be set in code).
    /// Identities are compared byte for byte; configuration keys are case-insensitive, so two identities
    /// that differ only in case need <see cref="PskKeysFile"/>.
    /// </summary>
    public IDictionary<string, string> PskKeys { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// A text file of pre-shared keys, one <c>IDENTITY:HEXKEY</c> per line (the identity is everything before
    /// the last colon; blank lines and lines starting with <c>#</c> are skipped), as the samples'
    /// <c>--psk</c> option. Read once, when the service starts.
    /// </summary>
    public string? PskKeysFile { get; set; }

    /// <summary>
    /// A file holding the HelloVerifyRequest cookie secret the instances of a fleet share, so that any instance
    /// verifies a cookie another issued (docs/deployment.md). Format and checks: <see cref="DtlsSecretFile"/>
    /// (32 or more bytes as hex lines with <c>#</c> comments, or a raw 32-64 byte file; mode 600 or 400, a file group or others can access is refused).
    /// Read when the service starts (a bad file fails the start with an <see cref="ArgumentException"/> naming
    /// this option, the file and the problem), then every second: a changed content becomes the secret and the
    /// previous one keeps verifying until the next change (<see cref="DtlsListener.UpdateCookieSecret"/>). Null
    /// (the default): a random secret per listener. Not together with <see cref="DtlsListenerOptions.CookieSecret"/>.
    /// </summary>
    public string? CookieSecretFile { get; set; }

    /// <summary>
    /// A file holding the session-ticket keys the instances of a fleet share, so that a ticket one issued resumes
    /// on another (docs/deployment.md). Format and checks: <see cref="DtlsSecretFile"/> (one or more 80-byte keys,
    /// newest first; mode 600). Read when the service starts (a bad file fails the start naming this option, the
    /// file and the problem), then every second: a changed content becomes the keys, tickets are issued under its
    /// first key, and the keys it replaced keep decrypting until the next change
    /// (<see cref="DtlsListener.UpdateSessionTicketKeys"/>). Null (the default): OpenSSL's random keys. Not together
    /// with <see cref="DtlsServerOptions.SessionTicketKeys"/>, nor with <see cref="DtlsServerOptions.EnableSessionTickets"/> false.
    /// </summary>
    public string? TicketKeysFile { get; set; }
}
