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
///   "PskKeysFile": "psk.txt"
/// }
/// </code>
/// binds to it through <see cref="DtlsHostingServiceCollectionExtensions.AddDtlsListener(Microsoft.Extensions.DependencyInjection.IServiceCollection, Microsoft.Extensions.Configuration.IConfiguration)"/>.
/// The service reads these options once, when it starts; each <see cref="DtlsListener"/> then works from
/// its own copy (docs/architecture.md, options are snapshotted), so changing them later has no effect.
/// </summary>
/// <remarks>
/// Fleet secrets are not here yet: the names <c>CookieSecretFile</c> and <c>TicketKeysFile</c> are kept
/// for the shared cookie secret and session-ticket key files (the EchoServer sample's
/// <c>--cookie-secret-file</c>/<c>--ticket-keys-file</c>); until then set
/// <see cref="DtlsListenerOptions.CookieSecret"/> and <see cref="DtlsServerOptions.SessionTicketKeys"/> in code.
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
}
