namespace OpenSslDtls.Samples.CoapServer;

/// <summary>The parsed command line of the CoAP server.</summary>
internal sealed record CoapServerSettings
{
    /// <summary>
    /// AEAD suites, strongest first (the server's preference decides). The last ones are RFC 7252's
    /// mandatory suites for constrained devices, TLS_PSK_WITH_AES_128_CCM_8 (§9.1.3.1) and
    /// TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (§9.1.3.3): libcoap and most device stacks offer them,
    /// and the library's default list does not include CCM_8.
    /// </summary>
    public const string DefaultCipherList =
        "ECDHE-PSK-CHACHA20-POLY1305:PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:" +
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:" +
        "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:" +
        "PSK-AES128-CCM:PSK-AES128-CCM8:ECDHE-ECDSA-AES128-CCM8";

    public required string Host { get; init; }

    public int Port { get; init; }

    public IReadOnlyList<string> Psks { get; init; } = [];

    public string? CertificateFile { get; init; }

    public string? KeyFile { get; init; }

    public string? CaFile { get; init; }

    public string CipherList { get; init; } = DefaultCipherList;

    /// <summary>Checks what the parser cannot: combinations and files. Null when everything is usable.</summary>
    public string? Validate()
    {
        if ((CertificateFile is null) != (KeyFile is null))
        {
            return "--cert and --key must be given together";
        }

        if (CertificateFile is null && Psks.Count == 0)
        {
            return "give --psk IDENTITY:HEXKEY (one per device) and/or --cert FILE --key FILE";
        }

        return SampleArguments.CheckReadable("--cert", CertificateFile)
            ?? SampleArguments.CheckReadable("--key", KeyFile)
            ?? SampleArguments.CheckReadable("--ca", CaFile);
    }
}
