using System.Diagnostics.Metrics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace OpenSsl.Dtls;

/// <summary>
/// Settings shared by clients and servers. Plain mutable properties, so that configuration binding
/// and <c>services.Configure&lt;T&gt;</c> can fill them; a <see cref="DtlsContext"/> copies them (and
/// every list) when it is created and never reads this object again, so changing it afterwards
/// changes nothing for that context, as with <see cref="SslServerAuthenticationOptions"/>.
/// Not thread-safe: fill it on one thread, then create contexts from it on any.
/// </summary>
public abstract partial class DtlsOptions
{
    private protected DtlsOptions()
    {
    }

    /// <summary>This endpoint's certificate, with its private key. Alternative to <see cref="CertificateChainFile"/>.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Intermediate certificates sent after <see cref="Certificate"/>.</summary>
    public IReadOnlyList<X509Certificate2> CertificateChain { get; set; } = [];

    /// <summary>A PEM file holding this endpoint's certificate followed by its intermediates.</summary>
    public string? CertificateChainFile { get; set; }

    /// <summary>The PEM (or DER) file holding the private key for <see cref="CertificateChainFile"/>.</summary>
    public string? PrivateKeyFile { get; set; }

    /// <summary>
    /// Trust the operating system's certificate store when verifying the peer. Defaults to true
    /// unless <see cref="CaFile"/> or <see cref="TrustedCertificates"/> is set, or this context verifies
    /// no peer certificate (a server that neither requests nor requires client certificates, or
    /// <see cref="InsecureSkipCertificateValidation"/>): loading the store parses every CA in it
    /// (<c>SSL_CTX_set_default_verify_paths</c>, tens of milliseconds).
    /// </summary>
    public bool? UseSystemTrustStore { get; set; }

    /// <summary>A PEM bundle of CA certificates to trust when verifying the peer.</summary>
    public string? CaFile { get; set; }

    /// <summary>Additional certificates (roots or self-signed peers) to trust when verifying the peer.</summary>
    public IReadOnlyList<X509Certificate2> TrustedCertificates { get; set; } = [];

    /// <summary>
    /// Called once the peer's certificate has been checked, with the same meaning as in
    /// <see cref="SslStream"/>: <see cref="SslPolicyErrors"/> lists what failed and the callback's
    /// answer is final (returning true accepts a certificate that failed; false rejects one that passed).
    /// The sender is the <see cref="DtlsSession"/>.
    /// </summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidation { get; set; }

    /// <summary>
    /// SHA-256 fingerprints (hex, colons optional) of peer certificates to accept; the peer's leaf
    /// certificate must match one of them. A matching pin replaces chain trust, and on a client
    /// without <see cref="DtlsClientOptions.TargetHost"/> it is the whole authentication: the
    /// certificate's names are not checked (RFC 8122 fingerprints, device pairing). With
    /// <see cref="DtlsClientOptions.TargetHost"/> both the pin and the name must match. Cannot be
    /// combined with <see cref="InsecureSkipCertificateValidation"/>; on a server it needs
    /// <see cref="DtlsServerOptions.RequireClientCertificate"/>.
    /// </summary>
    public IReadOnlyList<string> PinnedCertificateSha256 { get; set; } = [];

    /// <summary>
    /// Accept any peer certificate without verification (the blog's accept-all callback). Only
    /// for experiments: it makes the connection open to any man in the middle. Refused together with
    /// any setting it would silently ignore (pins, <see cref="CaFile"/>, <see cref="TrustedCertificates"/>,
    /// <see cref="RemoteCertificateValidation"/>, <see cref="UseSystemTrustStore"/>).
    /// </summary>
    public bool InsecureSkipCertificateValidation { get; set; }

    /// <summary>The lowest protocol version to negotiate. Default DTLS 1.2.</summary>
    public DtlsProtocolVersion MinimumProtocol { get; set; } = DtlsProtocolVersion.Dtls12;

    /// <summary>The highest protocol version to negotiate; null means the newest the loaded libssl supports.</summary>
    public DtlsProtocolVersion? MaximumProtocol { get; set; }

    /// <summary>
    /// OpenSSL cipher list for DTLS 1.2 (ciphers(1) syntax); null keeps the default, which is AEAD
    /// only in every mode, in this order of preference:
    /// <list type="bullet">
    /// <item>certificates: <c>ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305</c>;</item>
    /// <item>pre-shared keys: <c>ECDHE-PSK-CHACHA20-POLY1305:PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:PSK-AES128-CCM:PSK-AES256-CCM:PSK-AES128-CCM8:PSK-AES256-CCM8</c>
    /// (<c>PSK-AES128-CCM8</c> is TLS_PSK_WITH_AES_128_CCM_8, mandatory for CoAP, RFC 7252 §9.1.3.1);</item>
    /// <item>a server with both: the PSK list, then the certificate list.</item>
    /// </list>
    /// Whatever the list, every suite OpenSSL enables from it (<c>SSL_CTX_get_ciphers</c>) must be
    /// AEAD (GCM, CCM, CCM_8, ChaCha20-Poly1305) with ECDHE, PSK or ECDHE-PSK key exchange; a list
    /// that enables CBC, NULL, static-RSA, DHE, RSA-PSK or DHE-PSK suites is refused when the
    /// context is created unless <see cref="InsecureAllowLegacyCipherSuites"/> is set.
    /// </summary>
    public string? CipherList { get; set; }

    /// <summary>
    /// Lets <see cref="CipherList"/> enable suites outside the AEAD-with-ECDHE/PSK set (CBC, NULL,
    /// static RSA, DHE, RSA-PSK, DHE-PSK), for peers that offer nothing better. Default false.
    /// Requires <see cref="CipherList"/>.
    /// </summary>
    public bool InsecureAllowLegacyCipherSuites { get; set; }

    /// <summary>Key-exchange groups, in OpenSSL's syntax ("X25519:P-256"); null keeps the default.</summary>
    public string? Groups { get; set; }

    /// <summary>
    /// The path MTU in bytes (IP and UDP headers included) that records and handshake fragments must
    /// fit. Default 1200, which fits every IPv6 path (RFC 8200's minimum 1280) with room for tunnels.
    /// </summary>
    public int Mtu { get; set; } = 1200;

    /// <summary>How long a handshake may take before it fails with <see cref="TimeoutException"/>. Default 30 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The first retransmission interval of a handshake flight (RFC 6347 §4.2.4.1). Default 1 s.</summary>
    public TimeSpan InitialRetransmitTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The retransmission interval doubles after each loss up to this ceiling. Default 10 s.</summary>
    public TimeSpan MaximumRetransmitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>ALPN protocol names, in order of preference.</summary>
    public IReadOnlyList<string> ApplicationProtocols { get; set; } = [];

    /// <summary>
    /// DTLS-SRTP protection profiles (RFC 5764), OpenSSL names such as "SRTP_AEAD_AES_128_GCM" or
    /// "SRTP_AES128_CM_SHA1_80", in order of preference. After the handshake,
    /// <see cref="DtlsSession.SrtpProfile"/> names the chosen one and <see cref="DtlsSession.GetSrtpKeys"/>
    /// returns its keys.
    /// </summary>
    public IReadOnlyList<string> SrtpProfiles { get; set; } = [];

    /// <summary>
    /// Receives one line per secret in the NSS key log format (SSLKEYLOGFILE), for Wireshark.
    /// Anyone holding these lines can decrypt the traffic.
    /// </summary>
    public Action<string>? KeyLog { get; set; }

    /// <summary>Largest number of received plaintext datagrams a session queues before it drops new ones. Default 256.</summary>
    public int ReceiveQueueCapacity { get; set; } = 256;

    /// <summary>
    /// Creates the loggers of the context and of its sessions and clients: categories
    /// <c>OpenSsl.Dtls.DtlsContext</c>, <c>OpenSsl.Dtls.DtlsSession</c> and <c>OpenSsl.Dtls.DtlsClient</c>
    /// (handshake completion and failure and alerts at Debug, application callbacks that threw at
    /// Warning). Loggers are created once, when the <see cref="DtlsContext"/> is created, and called
    /// from any thread (the receive loop, the timer queue, the caller's). Null (the default) logs nothing.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Creates the <c>OpenSsl.Dtls</c> meter (<see cref="DtlsMetrics.MeterName"/>) that the context's
    /// sessions record into (handshake durations, active sessions and handshakes, retransmissions; see
    /// <see cref="DtlsMetrics"/>), as ASP.NET Core's Kestrel takes <see cref="IMeterFactory"/> from
    /// dependency injection. Null (the default): the process-wide <c>OpenSsl.Dtls</c> meter made
    /// without a factory, which <c>dotnet-counters</c>, OpenTelemetry and any <see cref="MeterListener"/>
    /// see by name. The meter is created once, when the <see cref="DtlsContext"/> is created; the
    /// factory owns it (disposing the factory ends its measurements). Instruments are recorded from any thread.
    /// </summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>
    /// The clock and timers of the context's sessions: the <see cref="HandshakeTimeout"/> deadline, the
    /// retransmission timer queue, and the handshake durations in metrics and traces. Default
    /// <see cref="TimeProvider.System"/>. OpenSSL keeps its own retransmission deadline on the wall
    /// clock (<c>DTLSv1_get_timeout(3)</c>), which no <see cref="TimeProvider"/> moves: a lost flight
    /// is resent only once both this provider's time and the real time have reached it (see the README,
    /// "Metrics, traces and logs"). Null is refused when the context is created (an
    /// <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> is "TimeProvider").
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal abstract bool IsServer { get; }
}
