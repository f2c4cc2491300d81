using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using OpenSsl.Interop;
using SafeEvpPKeyHandle = OpenSsl.Interop.SafeEvpPKeyHandle;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>
/// Step 1 of the classic DTLS-with-OpenSSL recipe: a configured <c>SSL_CTX</c>. Made once from a
/// copy of its options taken at creation (changing the options object afterwards has no effect),
/// validated completely when created, then shared by any number of sessions on any threads. Disposing it while sessions are live is safe: each session keeps the native context
/// alive until it ends.
/// </summary>
public sealed partial class DtlsContext : IDisposable
{
    // Secure default (docs/architecture.md, secure defaults): ECDHE key exchange with AEAD ciphers only.
    internal const string DefaultCipherList =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" +
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

    // AEAD PSK suites only (RFC 5487 GCM, RFC 6655 CCM/CCM_8, RFC 7905 ChaCha20); ECDHE-PSK first for
    // forward secrecy (OpenSSL 3.0 has no ECDHE-PSK with AES-GCM). PSK-AES128-CCM8 is CoAP's mandatory
    // suite (RFC 7252 §9.1.3.1), also LwM2M's; CCM_8's shorter tag puts it last.
    internal const string PskCipherList =
        "ECDHE-PSK-CHACHA20-POLY1305:PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:" +
        "PSK-AES128-CCM:PSK-AES256-CCM:PSK-AES128-CCM8:PSK-AES256-CCM8";

    private const string DefaultGroups = "X25519:P-256:P-384";

    private readonly SafeSslContextHandle _handle;
    private readonly byte[] _alpnWire;
    private readonly HashSet<string> _pins;
    private readonly ClientSessionCache? _clientSessions;
    private readonly byte[]? _pskIdentity;
    private SessionTicketKeyRing? _ticketKeys;
    private int _disposed;

    /// <summary>Creates a client context.</summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message and <see cref="ArgumentException.ParamName"/> name it.</exception>
    /// <exception cref="PlatformNotSupportedException">OpenSSL 3.x could not be loaded.</exception>
    public DtlsContext(DtlsClientOptions options)
        : this((DtlsOptions)options)
    {
        if (((DtlsClientOptions)Settings).AllowSessionResumption)
        {
            _clientSessions = new ClientSessionCache();
        }
    }

    /// <summary>Creates a server context.</summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message and <see cref="ArgumentException.ParamName"/> name it.</exception>
    /// <exception cref="PlatformNotSupportedException">OpenSSL 3.x could not be loaded.</exception>
    public DtlsContext(DtlsServerOptions options)
        : this((DtlsOptions)options)
    {
    }

    /// <summary>A listener's server context: the listener's logger factory, meter factory and clock where it has them, else the options'.</summary>
    internal DtlsContext(DtlsServerOptions options, Microsoft.Extensions.Logging.ILoggerFactory? loggers, System.Diagnostics.Metrics.IMeterFactory? meters, TimeProvider? time)
        : this(options, TelemetryOf(options, loggers, meters, time))
    {
    }

    private DtlsContext(DtlsOptions options, DtlsTelemetry? telemetry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        OpenSslLibrary.EnsureLoaded();
        // Copied before anything is checked or used: the application may change its options object
        // afterwards, and nothing here reads it again (docs/architecture.md, options are snapshotted).
        options = options.Snapshot();
        OptionRules.Validate(options);
        Settings = options;
        Telemetry = telemetry ?? TelemetryOf(options, null, null, null);
        _pskIdentity = OptionRules.ClientPskIdentity(options);
        _alpnWire = EncodeAlpn(options.ApplicationProtocols);
        _pins = options.PinnedCertificateSha256.Select(NormalizeFingerprint).ToHashSet(StringComparer.Ordinal);

        ErrorQueue.Clear();
        _handle = ErrorQueue.ThrowIfInvalid(SSL_CTX_new(DTLS_method()), "SSL_CTX_new(DTLS_method())");
        bool ok = false;
        try
        {
            Configure(options);
            ok = true;
        }
        finally
        {
            if (!ok)
            {
                _handle.Dispose();
            }
        }

        OpenSslLog.LoadedOnce(Telemetry.ContextLogger);
        SessionLog.ContextCreated(Telemetry.ContextLogger, options.IsServer ? "server" : "client", options.MinimumProtocol, options.MaximumProtocol);
    }

    /// <summary>
    /// A copy of the options this context was made from, as they were when it was created: a new
    /// object on each call, so changing it (or the object the context was made from) changes nothing.
    /// </summary>
    public DtlsOptions Options => Settings.Snapshot();

    /// <summary>True for a server context, false for a client context.</summary>
    public bool IsServer => Settings.IsServer;

    /// <summary>The context's own copy of its options, taken at creation; the library reads only this.</summary>
    internal DtlsOptions Settings { get; }

    internal SafeSslContextHandle Handle => _handle;

    /// <summary>The loggers, instruments, clock and timer queue taken from the options at creation.</summary>
    internal DtlsTelemetry Telemetry { get; }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    internal ReadOnlySpan<byte> AlpnWire => _alpnWire;

    internal IReadOnlySet<string> Pins => _pins;

    internal ClientSessionCache? ClientSessions => _clientSessions;

    /// <summary>The session-ticket keys OpenSSL's ticket callback uses; null unless the server was given <see cref="DtlsServerOptions.SessionTicketKeys"/>.</summary>
    internal SessionTicketKeyRing? TicketKeys => _ticketKeys;

    /// <summary>A client's PSK identity bytes (from PskIdentity or PskIdentityText), or null.</summary>
    internal ReadOnlySpan<byte> ClientPskIdentity => _pskIdentity;

    /// <summary>
    /// Replaces the session-ticket keys of this server context without a restart (RFC 5077 key rotation):
    /// <paramref name="keys"/> is one or more 80-byte keys, newest first, in the layout of
    /// <see cref="DtlsServerOptions.SessionTicketKeys"/>. New tickets are encrypted with the first key at
    /// once. The keys given by the previous update (or at creation) keep decrypting until the next update,
    /// so a ticket issued before a rotation still resumes after it, and its client gets a new ticket under
    /// the new key; after a second rotation it no longer resumes (a full handshake). The same keys again change
    /// nothing. Give the same keys to every server of a fleet. Safe to call from any thread while handshakes
    /// run; the keys are copied.
    /// </summary>
    /// <param name="keys">The new keys, newest first: a multiple of 80 bytes, at most 16 keys, names distinct.</param>
    /// <exception cref="ArgumentException">The keys are empty, not a whole number of 80-byte keys, too many, or two share a name.</exception>
    /// <exception cref="InvalidOperationException">This is a client context, or a server context created without <see cref="DtlsServerOptions.SessionTicketKeys"/> (OpenSSL's own random keys cannot be replaced).</exception>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    public void UpdateSessionTicketKeys(ReadOnlySpan<byte> keys)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        SessionTicketKeyRing ring = _ticketKeys ?? throw new InvalidOperationException(
            $"{nameof(UpdateSessionTicketKeys)} needs a server context created with {nameof(DtlsServerOptions)}.{nameof(DtlsServerOptions.SessionTicketKeys)} (and {nameof(DtlsServerOptions.EnableSessionTickets)} on); without them OpenSSL keeps random keys of its own.");
        ring.Update(keys, nameof(keys));
    }

    /// <summary>
    /// Lets this server context, which replaces <paramref name="previous"/> for new handshakes
    /// (<see cref="DtlsListener.UpdateServerOptions"/>), decrypt the session tickets
    /// <paramref name="previous"/> issued, so that a certificate renewal does not turn every client's
    /// next connection into a full handshake (RFC 5077 §4 leaves the keys to the server). With
    /// <see cref="DtlsServerOptions.SessionTicketKeys"/> on either side, this context takes over the
    /// previous key ring, updated with its own keys if it was given any (so the previous keys keep
    /// decrypting for one rotation, as <see cref="UpdateSessionTicketKeys"/> does). With OpenSSL's own
    /// random keys on both, it copies them (<c>SSL_CTX_get_tlsext_ticket_keys</c>/<c>set</c>). The
    /// session-ID cache cannot be carried over: resumption by session ID needs a full handshake once.
    /// </summary>
    internal unsafe void ContinueTicketsOf(DtlsContext previous)
    {
        if (Settings is not DtlsServerOptions { EnableSessionTickets: true } s || previous.Settings is not DtlsServerOptions { EnableSessionTickets: true })
        {
            return;
        }

        if (previous._ticketKeys is { } ring)
        {
            if (!s.SessionTicketKeys.IsEmpty)
            {
                ring.Update(s.SessionTicketKeys.Span, nameof(s.SessionTicketKeys));
            }
            else
            {
                Check(SSL_CTX_set_tlsext_ticket_key_evp_cb(_handle, &NativeCallbacks.OnTicketKey), nameof(s.SessionTicketKeys), "OpenSSL refused the ticket key callback");
            }

            _ticketKeys = ring;
        }
        else if (_ticketKeys is null)
        {
            Span<byte> keys = stackalloc byte[SessionTicketKeyRing.KeyLength];
            try
            {
                Check(SSL_CTX_get_tlsext_ticket_keys(previous._handle, keys), nameof(s.SessionTicketKeys), "cannot read the previous context's ticket keys");
                Check(SSL_CTX_set_tlsext_ticket_keys(_handle, keys), nameof(s.SessionTicketKeys), "cannot carry the previous context's ticket keys over");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(keys);
            }
        }
    }

    /// <summary>
    /// Releases this context's reference on the native <c>SSL_CTX</c>. Live sessions keep their own
    /// reference and finish normally; new sessions can no longer be created.
    /// </summary>
    public void Dispose()
    {
        // SafeHandle.Dispose only marks the handle closed once no session holds a reference, so
        // DangerousAddRef alone would still let new sessions start on a disposed context: keep a flag.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _handle.Dispose();
        _clientSessions?.Dispose();
    }

    private static DtlsTelemetry TelemetryOf(DtlsOptions options, Microsoft.Extensions.Logging.ILoggerFactory? loggers, System.Diagnostics.Metrics.IMeterFactory? meters, TimeProvider? time)
    {
        ArgumentNullException.ThrowIfNull(options);
        TimeProvider clock = time ?? options.TimeProvider ?? throw SettingErrors.Invalid(nameof(options.TimeProvider), "TimeProvider must not be null (the default is TimeProvider.System).");
        return new DtlsTelemetry(loggers ?? options.LoggerFactory, meters ?? options.MeterFactory, clock);
    }

    private void Configure(DtlsOptions o)
    {
        // DTLS 1.3 only where the loaded libssl has it: a clear refusal naming the setting (docs/openssl-versions.md).
        DtlsProtocolSupport.ThrowIfUnsupported(o.MinimumProtocol, nameof(o.MinimumProtocol));
        if (o.MaximumProtocol is { } requestedMax)
        {
            DtlsProtocolSupport.ThrowIfUnsupported(requestedMax, nameof(o.MaximumProtocol));
        }

        // The reasons are made only on failure: formatting an enum was JIT work at every first context (cold start).
        Check(SSL_CTX_set_min_proto_version(_handle, (int)o.MinimumProtocol), nameof(o.MinimumProtocol), () => $"{o.MinimumProtocol} is not supported by this libssl");
        if (o.MaximumProtocol is { } max)
        {
            Check(SSL_CTX_set_max_proto_version(_handle, (int)max), nameof(o.MaximumProtocol), () => $"{max} is not supported by this libssl");
        }

        // Renegotiation is a source of attacks and DTLS apps never need it; compression is CRIME.
        SSL_CTX_set_options(_handle, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | (o.IsServer ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));

        bool psk = o is DtlsClientOptions { HasPsk: true } or DtlsServerOptions { HasPskLookup: true };
        bool hasCertificate = o.Certificate is not null || o.CertificateChainFile is not null;
        string ciphers = o.CipherList ?? (psk ? (hasCertificate && o.IsServer ? $"{PskCipherList}:{DefaultCipherList}" : PskCipherList) : DefaultCipherList);
        Check(SSL_CTX_set_cipher_list(_handle, ciphers), nameof(o.CipherList), $"no usable cipher in '{ciphers}'");
        CipherPolicy.Enforce(_handle, o, ciphers);
        CipherPolicy.RequireUsableSuites(_handle, o, psk, hasCertificate);
        CipherPolicy.AllowCcm8WithoutCertificates(_handle);
        Check(SSL_CTX_set1_groups_list(_handle, o.Groups ?? DefaultGroups), nameof(o.Groups), $"unknown group in '{o.Groups}'");

        LoadCertificate(o);
        LoadTrust(o);
        ConfigureVerification(o);
        ConfigureExtensions(o);
        ConfigureSessions(o);
    }

    private void LoadCertificate(DtlsOptions o)
    {
        if (o.CertificateChainFile is not null)
        {
            Check(SSL_CTX_use_certificate_chain_file(_handle, o.CertificateChainFile), nameof(o.CertificateChainFile),
                $"cannot read a PEM certificate chain from '{o.CertificateChainFile}'");
            if (PemFiles.IsEncryptedPrivateKey(o.PrivateKeyFile!))
            {
                throw SettingErrors.Invalid(nameof(o.PrivateKeyFile),
                    $"{nameof(o.PrivateKeyFile)}: '{o.PrivateKeyFile}' is encrypted, and this library never prompts for a passphrase. " +
                    $"Decrypt it (openssl pkey -in KEY -out KEY.plain), or load it yourself (X509Certificate2.CreateFromEncryptedPemFile) and pass {nameof(o.Certificate)}.");
            }

            int type = PemFiles.ContainsPem(o.PrivateKeyFile!) ? SSL_FILETYPE_PEM : SSL_FILETYPE_ASN1;
            if (SSL_CTX_use_PrivateKey_file(_handle, o.PrivateKeyFile!, type) != 1)
            {
                // SSL_CTX_use_PrivateKey_file already compares the key with the loaded certificate, so a
                // key that does not match fails here (X509_R_KEY_VALUES_MISMATCH), not in SSL_CTX_check_private_key.
                OpenSslException errors = ErrorQueue.ToException(nameof(o.PrivateKeyFile));
                string reason = errors.Errors.Any(IsKeyMismatch)
                    ? $"the private key in '{o.PrivateKeyFile}' does not match the certificate in '{o.CertificateChainFile}'"
                    : $"cannot read a private key from '{o.PrivateKeyFile}'";
                throw SettingErrors.Invalid(nameof(o.PrivateKeyFile), $"{nameof(o.PrivateKeyFile)}: {reason}. {errors.Message}", errors);
            }

            Check(SSL_CTX_check_private_key(_handle), nameof(o.PrivateKeyFile),
                $"the private key in '{o.PrivateKeyFile}' does not match the certificate in '{o.CertificateChainFile}'");
        }
        else if (o.Certificate is { } certificate)
        {
            using SafeX509Handle x509 = CertificateConversion.ToNative(certificate);
            Check(SSL_CTX_use_certificate(_handle, x509), nameof(o.Certificate), () => $"OpenSSL refused certificate '{certificate.Subject}'");
            using SafeEvpPKeyHandle key = CertificateConversion.PrivateKeyToNative(certificate, nameof(o.Certificate));
            Check(SSL_CTX_use_PrivateKey(_handle, key), nameof(o.Certificate), () => $"OpenSSL refused the private key of '{certificate.Subject}'");
            Check(SSL_CTX_check_private_key(_handle), nameof(o.Certificate), () => $"the private key does not match certificate '{certificate.Subject}'");
            foreach (X509Certificate2 intermediate in o.CertificateChain)
            {
                using SafeX509Handle chainCert = CertificateConversion.ToNative(intermediate);
                Check(SSL_CTX_add1_chain_cert(_handle, chainCert), nameof(o.CertificateChain), () => $"OpenSSL refused chain certificate '{intermediate.Subject}'");
            }
        }
    }

    private void LoadTrust(DtlsOptions o)
    {
        // The default loads the system store only where a peer certificate is verified: a server that asks
        // for none (or InsecureSkipCertificateValidation) would never consult it, and loading it costs
        // 25-35 ms (SSL_CTX_set_default_verify_paths parses every CA of the bundle; docs/benchmarks.md, cold start).
        // The native C server (native/server.c) loads it only with --require-client-cert too.
        bool system = o.UseSystemTrustStore ?? (VerifyMode(o) != SSL_VERIFY_NONE && o.CaFile is null && o.TrustedCertificates.Count == 0);
        if (system)
        {
            Check(SSL_CTX_set_default_verify_paths(_handle), nameof(o.UseSystemTrustStore), "the system trust store could not be loaded");
        }

        if (o.CaFile is not null)
        {
            Check(SSL_CTX_load_verify_locations(_handle, o.CaFile, null), nameof(o.CaFile), $"cannot read CA certificates from '{o.CaFile}'");
        }

        foreach (X509Certificate2 trusted in o.TrustedCertificates)
        {
            using SafeX509Handle x509 = CertificateConversion.ToNative(trusted);
            Check(LibCrypto.X509_STORE_add_cert(SSL_CTX_get_cert_store(_handle), x509), nameof(o.TrustedCertificates), () => $"cannot trust '{trusted.Subject}'");
        }
    }

    /// <summary>The <c>SSL_CTX_set_verify</c> mode: whether (and how strictly) this context verifies its peer's certificate.</summary>
    private static int VerifyMode(DtlsOptions o) => o switch
    {
        _ when o.InsecureSkipCertificateValidation => SSL_VERIFY_NONE,
        DtlsServerOptions { RequireClientCertificate: true } => SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
        DtlsServerOptions { RequestClientCertificate: true } => SSL_VERIFY_PEER,
        DtlsServerOptions => SSL_VERIFY_NONE,
        _ => SSL_VERIFY_PEER,
    };

    private unsafe void ConfigureVerification(DtlsOptions o)
    {
        int mode = VerifyMode(o);
        if (mode == SSL_VERIFY_NONE)
        {
            SSL_CTX_set_verify(_handle, mode, null);
            return;
        }

        // The per-certificate callback only records what failed and lets verification go on, so
        // that the whole-chain callback can decide once, with every error known (SslPolicyErrors).
        SSL_CTX_set_verify(_handle, mode, &NativeCallbacks.OnVerifyCertificate);
        SSL_CTX_set_cert_verify_callback(_handle, &NativeCallbacks.OnVerifyChain, 0);
    }

    private unsafe void ConfigureExtensions(DtlsOptions o)
    {
        if (_alpnWire.Length > 0)
        {
            if (o.IsServer)
            {
                SSL_CTX_set_alpn_select_cb(_handle, &NativeCallbacks.OnSelectAlpn, 0);
            }
            else
            {
                fixed (byte* wire = _alpnWire)
                {
                    // Returns 0 on success, unlike most of OpenSSL.
                    Check(SSL_CTX_set_alpn_protos(_handle, wire, (uint)_alpnWire.Length) == 0 ? 1 : 0, nameof(o.ApplicationProtocols), "OpenSSL refused the ALPN list");
                }
            }
        }

        if (o.SrtpProfiles.Count > 0)
        {
            string profiles = string.Join(':', o.SrtpProfiles);
            Check(SSL_CTX_set_tlsext_use_srtp(_handle, profiles) == 0 ? 1 : 0, nameof(o.SrtpProfiles), $"unknown SRTP profile in '{profiles}'");
        }

        if (o.KeyLog is not null)
        {
            SSL_CTX_set_keylog_callback(_handle, &NativeCallbacks.OnKeyLog);
        }

        switch (o)
        {
            case DtlsClientOptions { HasPsk: true }:
                SSL_CTX_set_psk_client_callback(_handle, &NativeCallbacks.OnPskClient);
                break;
            case DtlsServerOptions { HasPskLookup: true } s:
                SSL_CTX_set_psk_server_callback(_handle, &NativeCallbacks.OnPskServer);
                // Sees the record headers, to fail a handshake with a mismatched key at once (DtlsSession.KeyMismatch.cs).
                SSL_CTX_set_msg_callback(_handle, &NativeCallbacks.OnMessage);
                if (s.PskIdentityHint is not null)
                {
                    Check(SSL_CTX_use_psk_identity_hint(_handle, s.PskIdentityHint), nameof(s.PskIdentityHint), "OpenSSL refused the identity hint");
                }

                break;
        }

        if (o is DtlsServerOptions { ServerContextSelector: not null })
        {
            SSL_CTX_set_tlsext_servername_callback(_handle, &NativeCallbacks.OnServerName);
        }

        SSL_CTX_set_info_callback(_handle, &NativeCallbacks.OnInfo);
    }

    private unsafe void ConfigureSessions(DtlsOptions o)
    {
        if (o is not DtlsServerOptions s)
        {
            // The client keeps its own cache keyed by server (ClientSessionCache).
            SSL_CTX_set_session_cache_mode(_handle, SSL_SESS_CACHE_OFF);
            return;
        }

        SSL_CTX_set_session_cache_mode(_handle, s.SessionCacheSize > 0 ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_OFF);
        SSL_CTX_sess_set_cache_size(_handle, s.SessionCacheSize);
        // A server that verifies clients must set a session ID context, or resumption fails (SSL_CTX_set_session_id_context(3)).
        fixed (byte* p = SessionIdContext)
        {
            Check(SSL_CTX_set_session_id_context(_handle, p, (uint)SessionIdContext.Length), nameof(s.SessionCacheSize), "cannot set the session ID context");
        }

        if (!s.EnableSessionTickets)
        {
            SSL_CTX_set_options(_handle, SSL_OP_NO_TICKET);
        }
        else if (!s.SessionTicketKeys.IsEmpty)
        {
            // A callback rather than SSL_CTX_set_tlsext_ticket_keys, which holds one key: rotation needs the
            // previous keys to keep decrypting (SSL_CTX_set_tlsext_ticket_key_evp_cb(3)).
            _ticketKeys = new SessionTicketKeyRing(s.SessionTicketKeys.Span);
            Check(SSL_CTX_set_tlsext_ticket_key_evp_cb(_handle, &NativeCallbacks.OnTicketKey), nameof(s.SessionTicketKeys), "OpenSSL refused the ticket key callback");
        }
    }

    /// <summary>
    /// The session ID context of every server context: SHA-256 of the UTF-8 bytes of "OpenSslDtls"
    /// (<c>printf OpenSslDtls | sha256sum</c>), the same in every process and version, so that sessions
    /// resume across a fleet and across restarts. A constant rather than <c>SHA256.HashData</c> at each
    /// context's creation: that call loaded and initialised .NET's own OpenSSL shim
    /// (libSystem.Security.Cryptography.Native.OpenSsl) on the way to the first handshake (docs/benchmarks.md, cold start).
    /// </summary>
    internal static ReadOnlySpan<byte> SessionIdContext =>
    [
        0x2d, 0x78, 0xbc, 0x2e, 0x6b, 0x3d, 0xe8, 0x6f, 0x35, 0x99, 0x5e, 0xc1, 0x41, 0x2f, 0x4d, 0x9d,
        0x15, 0xa8, 0xf8, 0x61, 0x59, 0x52, 0xbf, 0x5e, 0x30, 0xed, 0x37, 0x0f, 0x64, 0x48, 0x86, 0x2c,
    ];

    private static void Check(int result, string setting, string reason) => Check(result, setting, () => reason);

    // The reason is made only after the queue is read: naming a certificate (X509Certificate2.Subject) calls
    // .NET's own OpenSSL shim, which clears the error queue of the libcrypto it shares with us when both are
    // libcrypto.so.3, so an eager reason lost OpenSSL's text ("ee key too small"; docs/openssl-versions.md).
    private static void Check(int result, string setting, Func<string> reason)
    {
        if (result != 1)
        {
            OpenSslException errors = ErrorQueue.ToException(setting);
            throw SettingErrors.Invalid(setting, $"{setting}: {reason()}. {errors.Message}", errors);
        }
    }

    // ERR_GET_LIB(code) == ERR_LIB_X509 (11) && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH (116), OpenSSL 3 packing.
    private static bool IsKeyMismatch(OpenSslError error) => ((error.Code >> 23) & 0xFF) == 11 && (error.Code & 0x7FFFFF) == 116;

    private static byte[] EncodeAlpn(IReadOnlyList<string> protocols)
    {
        var wire = new List<byte>();
        foreach (string protocol in protocols)
        {
            byte[] name = Encoding.UTF8.GetBytes(protocol);
            wire.Add((byte)name.Length);
            wire.AddRange(name);
        }

        // On the pinned object heap: SSL_select_next_proto points its answer into this array (its
        // "server" list), and OpenSSL copies the answer only after the ALPN callback has returned.
        byte[] pinned = GC.AllocateArray<byte>(wire.Count, pinned: true);
        wire.CopyTo(pinned);
        return pinned;
    }

    internal static string NormalizeFingerprint(string pin) => pin.Replace(":", string.Empty, StringComparison.Ordinal).Trim().ToUpperInvariant();
}
