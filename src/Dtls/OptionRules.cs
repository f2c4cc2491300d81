using System.Text;

namespace OpenSsl.Dtls;

/// <summary>
/// Every rule a set of options must satisfy before a context is made. A rule that fails throws an
/// <see cref="ArgumentException"/> whose message starts with the option it names and mentions every
/// other option involved, so that a misconfiguration fails at creation, not at the first handshake.
/// README.md ("Options checked at creation") lists the same rules.
/// </summary>
internal static class OptionRules
{
    public static void Validate(DtlsOptions o)
    {
        ValidateRanges(o);
        ValidateCertificateFiles(o);
        ValidateVerification(o);
        ValidateLists(o);
        switch (o)
        {
            case DtlsClientOptions c:
                ValidateClient(c);
                break;
            case DtlsServerOptions s:
                ValidateServer(s);
                break;
        }
    }

    /// <summary>The identity a client sends: PskIdentity's bytes, or PskIdentityText as UTF-8 (validated before).</summary>
    public static byte[]? ClientPskIdentity(DtlsOptions o) => o switch
    {
        DtlsClientOptions { PskIdentityText: { } text } => DtlsPskRequest.TryEncode(text),
        DtlsClientOptions { PskIdentity.IsEmpty: false } c => c.PskIdentity.ToArray(),
        _ => null,
    };

    private static void ValidateRanges(DtlsOptions o)
    {
        if (o.Mtu is < 256 or > 65535)
        {
            throw SettingErrors.OutOfRange(nameof(o.Mtu), o.Mtu, "Mtu must be between 256 (OpenSSL's minimum link MTU) and 65535 bytes (the largest IP packet).");
        }

        if (o.HandshakeTimeout <= TimeSpan.Zero)
        {
            throw SettingErrors.OutOfRange(nameof(o.HandshakeTimeout), o.HandshakeTimeout, "HandshakeTimeout must be positive.");
        }

        if (o.InitialRetransmitTimeout <= TimeSpan.Zero || o.InitialRetransmitTimeout > o.MaximumRetransmitTimeout)
        {
            throw SettingErrors.OutOfRange(nameof(o.InitialRetransmitTimeout), o.InitialRetransmitTimeout,
                "InitialRetransmitTimeout must be positive and not above MaximumRetransmitTimeout.");
        }

        if (o.ReceiveQueueCapacity < 1)
        {
            throw SettingErrors.OutOfRange(nameof(o.ReceiveQueueCapacity), o.ReceiveQueueCapacity, "ReceiveQueueCapacity must be at least 1.");
        }

        // DTLS version numbers count down (RFC 6347 §4.1: 1.2 is 0xFEFD, 1.3 is 0xFEFC): a larger number is an older version.
        if (o.MaximumProtocol is { } max && (int)max > (int)o.MinimumProtocol)
        {
            throw SettingErrors.Invalid(nameof(o.MaximumProtocol), $"MaximumProtocol {max} is below MinimumProtocol {o.MinimumProtocol}.");
        }
    }

    private static void ValidateCertificateFiles(DtlsOptions o)
    {
        if (o.Certificate is not null && o.CertificateChainFile is not null)
        {
            throw SettingErrors.Invalid(nameof(o.CertificateChainFile), "Set either Certificate or CertificateChainFile, not both.");
        }

        if ((o.CertificateChainFile is null) != (o.PrivateKeyFile is null))
        {
            throw SettingErrors.Invalid(o.CertificateChainFile is null ? nameof(o.CertificateChainFile) : nameof(o.PrivateKeyFile), "CertificateChainFile and PrivateKeyFile must be set together.");
        }

        if (o.Certificate is not null && !o.Certificate.HasPrivateKey)
        {
            throw SettingErrors.Invalid(nameof(o.Certificate), $"Certificate '{o.Certificate.Subject}' has no private key.");
        }

        if (o.Certificate is null && o.CertificateChain.Count > 0)
        {
            throw SettingErrors.Invalid(nameof(o.CertificateChain), "CertificateChain holds the intermediates sent after Certificate; set Certificate too (or use CertificateChainFile).");
        }

        RequireFile(o.CertificateChainFile, nameof(o.CertificateChainFile));
        RequireFile(o.PrivateKeyFile, nameof(o.PrivateKeyFile));
        RequireFile(o.CaFile, nameof(o.CaFile));
    }

    private static void ValidateVerification(DtlsOptions o)
    {
        foreach (string pin in o.PinnedCertificateSha256)
        {
            string normalized = DtlsContext.NormalizeFingerprint(pin);
            if (normalized.Length != 64 || !normalized.All(char.IsAsciiHexDigit))
            {
                throw SettingErrors.Invalid(nameof(o.PinnedCertificateSha256), $"'{pin}' is not a SHA-256 fingerprint (64 hex digits, colons allowed).");
            }
        }

        if (!o.InsecureSkipCertificateValidation)
        {
            return;
        }

        // Each of these would be silently ignored: no certificate is verified at all.
        string? ignored =
            o.PinnedCertificateSha256.Count > 0 ? nameof(o.PinnedCertificateSha256)
            : o.CaFile is not null ? nameof(o.CaFile)
            : o.TrustedCertificates.Count > 0 ? nameof(o.TrustedCertificates)
            : o.RemoteCertificateValidation is not null ? nameof(o.RemoteCertificateValidation)
            : o.UseSystemTrustStore == true ? nameof(o.UseSystemTrustStore)
            : o is DtlsServerOptions { RequireClientCertificate: true } ? nameof(DtlsServerOptions.RequireClientCertificate)
            : o is DtlsServerOptions { RequestClientCertificate: true } ? nameof(DtlsServerOptions.RequestClientCertificate)
            : null;
        if (ignored is not null)
        {
            throw SettingErrors.Invalid(nameof(o.InsecureSkipCertificateValidation),
                $"InsecureSkipCertificateValidation contradicts {ignored}: with it no certificate is verified, so {ignored} would be ignored. Remove one of them.");
        }
    }

    private static void ValidateLists(DtlsOptions o)
    {
        foreach (string protocol in o.ApplicationProtocols)
        {
            int length = Encoding.UTF8.GetByteCount(protocol);
            if (length is 0 or > 255)
            {
                throw SettingErrors.Invalid(nameof(o.ApplicationProtocols), $"ALPN protocol '{protocol}' must be 1 to 255 bytes.");
            }
        }

        if (o.InsecureAllowLegacyCipherSuites && o.CipherList is null)
        {
            throw SettingErrors.Invalid(nameof(o.InsecureAllowLegacyCipherSuites),
                "InsecureAllowLegacyCipherSuites only widens an explicit CipherList (the defaults are AEAD only); set CipherList too, or remove it.");
        }
    }

    private static void ValidateClient(DtlsClientOptions c)
    {
        if (!c.PskIdentity.IsEmpty && c.PskIdentityText is not null)
        {
            throw SettingErrors.Invalid(nameof(c.PskIdentityText), "Set either PskIdentity (bytes) or PskIdentityText, not both.");
        }

        bool hasIdentity = !c.PskIdentity.IsEmpty || c.PskIdentityText is not null;
        if (c.PskCredentialSelector is not null && (hasIdentity || !c.PskKey.IsEmpty))
        {
            throw SettingErrors.Invalid(nameof(c.PskCredentialSelector), "Set PskCredentialSelector or a fixed PskIdentity/PskIdentityText with PskKey, not both.");
        }

        if (c.PskKey.IsEmpty != !hasIdentity)
        {
            throw SettingErrors.Invalid(nameof(c.PskKey), hasIdentity
                ? "PskKey: a PSK identity (PskIdentity or PskIdentityText) is set without PskKey; set both."
                : "PskKey is set without PskIdentity or PskIdentityText; set both.");
        }

        if (c.PskKey.Length > DtlsPskLimits.MaxKeyBytes)
        {
            throw SettingErrors.Invalid(nameof(c.PskKey), $"PskKey is {c.PskKey.Length} bytes; OpenSSL accepts at most {DtlsPskLimits.MaxKeyBytes} (PSK_MAX_PSK_LEN).");
        }

        if (!hasIdentity && c.PskCredentialSelector is null)
        {
            return;
        }

        // A PSK client offers only PSK suites (unless CipherList says otherwise), which carry no server
        // certificate: certificate checks would silently never run.
        string? ignored =
            c.CipherList is not null ? null
            : c.PinnedCertificateSha256.Count > 0 ? nameof(c.PinnedCertificateSha256)
            : c.CaFile is not null ? nameof(c.CaFile)
            : c.TrustedCertificates.Count > 0 ? nameof(c.TrustedCertificates)
            : c.RemoteCertificateValidation is not null ? nameof(c.RemoteCertificateValidation)
            : null;
        if (ignored is not null)
        {
            throw SettingErrors.Invalid(ignored,
                $"{ignored} checks the server's certificate, but a client with PskKey offers only PSK suites, which carry none; remove it, or set CipherList to also offer certificate suites.");
        }

        if (!hasIdentity)
        {
            return; // the selector's credentials are checked when they are made (DtlsPskCredential)
        }

        string setting = c.PskIdentityText is not null ? nameof(c.PskIdentityText) : nameof(c.PskIdentity);
        byte[] identity = OptionRules.ClientPskIdentity(c)
            ?? throw SettingErrors.Invalid(setting, "PskIdentityText has no exact UTF-8 form (it holds a lone surrogate); pass the bytes as PskIdentity instead.");
        if (identity.Length == 0)
        {
            throw SettingErrors.Invalid(setting, $"{setting} is empty; a PSK identity is 1 to {DtlsPskLimits.MaxIdentityBytes} bytes.");
        }

        if (identity.Length > DtlsPskLimits.MaxIdentityBytes)
        {
            throw SettingErrors.Invalid(setting,
                $"{setting} is {identity.Length} bytes; OpenSSL 3 sends at most {DtlsPskLimits.MaxIdentityBytes} (PSK_MAX_IDENTITY_LEN {DtlsPskLimits.MaxIdentityBytes + 1} including the C string's terminator).");
        }

        int nul = Array.IndexOf(identity, (byte)0);
        if (nul >= 0)
        {
            throw SettingErrors.Invalid(setting,
                $"{setting} holds a zero byte at offset {nul}; OpenSSL's psk_client_callback takes the identity as a C string and would send only the bytes before it.");
        }
    }

    private static void ValidateServer(DtlsServerOptions s)
    {
        bool hasCertificate = s.Certificate is not null || s.CertificateChainFile is not null;
        bool psk = s.HasPskLookup;
        if (s.PskKeyLookup is not null && s.PskKeyLookupAsync is not null)
        {
            throw SettingErrors.Invalid(nameof(s.PskKeyLookupAsync), "Set PskKeyLookup or PskKeyLookupAsync, not both: a server has one key store.");
        }

        if (s.PskKeyLookupAsync is not null && DtlsProtocolSupport.MayNegotiateDtls13(s))
        {
            // DTLS 1.3 carries the identity in the ClientHello's pre_shared_key extension, not in a
            // ClientKeyExchange, which is where the asynchronous lookup reads it (DtlsSession.PskLookup.cs).
            throw SettingErrors.Invalid(nameof(s.PskKeyLookupAsync),
                "PskKeyLookupAsync reads the identity from the DTLS 1.2 ClientKeyExchange, and this libssl may negotiate DTLS 1.3: set MaximumProtocol = DtlsProtocolVersion.Dtls12, or use PskKeyLookup.");
        }

        if (!hasCertificate && !psk)
        {
            throw SettingErrors.Invalid(nameof(s.Certificate),
                "A server needs Certificate (or CertificateChainFile and PrivateKeyFile) or PskKeyLookup (or PskKeyLookupAsync); with neither every handshake would fail with handshake_failure.");
        }

        if (s.PskIdentityHint is not null && !psk)
        {
            throw SettingErrors.Invalid(nameof(s.PskIdentityHint), "PskIdentityHint is sent only with PSK suites; set PskKeyLookup or PskKeyLookupAsync too, or remove it.");
        }

        bool asksForCertificate = s.RequireClientCertificate || s.RequestClientCertificate;
        if (asksForCertificate && !hasCertificate)
        {
            string which = s.RequireClientCertificate ? nameof(s.RequireClientCertificate) : nameof(s.RequestClientCertificate);
            throw SettingErrors.Invalid(which,
                $"{which} needs a server Certificate (or CertificateChainFile): PSK suites carry no CertificateRequest, so a PSK-only server cannot ask for a client certificate.");
        }

        if (s.PinnedCertificateSha256.Count > 0 && !s.RequireClientCertificate)
        {
            throw SettingErrors.Invalid(nameof(s.PinnedCertificateSha256),
                "PinnedCertificateSha256 on a server pins client certificates; set RequireClientCertificate, or a client without a certificate would pass unpinned.");
        }

        string? unusedTrust =
            s.CaFile is not null ? nameof(s.CaFile)
            : s.TrustedCertificates.Count > 0 ? nameof(s.TrustedCertificates)
            : s.RemoteCertificateValidation is not null ? nameof(s.RemoteCertificateValidation)
            : null;
        if (unusedTrust is not null && !asksForCertificate)
        {
            throw SettingErrors.Invalid(unusedTrust,
                $"{unusedTrust} on a server verifies client certificates, which are asked for only with RequestClientCertificate or RequireClientCertificate; set one of them, or remove {unusedTrust}.");
        }

        if (!s.SessionTicketKeys.IsEmpty && SessionTicketKeyRing.Problem(s.SessionTicketKeys.Length) is { } ticketKeyProblem)
        {
            throw SettingErrors.Invalid(nameof(s.SessionTicketKeys), $"SessionTicketKeys must be one or more 80-byte keys: {ticketKeyProblem}.");
        }

        if (!s.SessionTicketKeys.IsEmpty && !s.EnableSessionTickets)
        {
            throw SettingErrors.Invalid(nameof(s.SessionTicketKeys), "SessionTicketKeys are set but EnableSessionTickets is false; remove one of them.");
        }

        if (s.SessionCacheSize < 0)
        {
            throw SettingErrors.OutOfRange(nameof(s.SessionCacheSize), s.SessionCacheSize, "SessionCacheSize cannot be negative.");
        }
    }

    private static void RequireFile(string? path, string setting)
    {
        if (path is not null && !File.Exists(path))
        {
            throw SettingErrors.Invalid(setting, $"{setting}: the file '{path}' does not exist.");
        }
    }
}
