namespace OpenSslDtls.Samples.EchoServer;

/// <summary>The parsed command line of the echo server.</summary>
internal sealed record EchoServerSettings
{
    public required string Host { get; init; }

    public int Port { get; init; }

    public string? CertificateFile { get; init; }

    public string? KeyFile { get; init; }

    public string? CaFile { get; init; }

    public bool RequireClientCertificate { get; init; }

    public IReadOnlyList<string> Psk { get; init; } = [];

    public string? PskHint { get; init; }

    public string? CipherList { get; init; }

    public bool AllowLegacyCiphers { get; init; }

    public string? Srtp { get; init; }

    public string? KeyLogFile { get; init; }

    public bool NoTickets { get; init; }

    public int Mtu { get; init; }

    public string? Alpn { get; init; }

    public int MaxSessions { get; init; }

    public TimeSpan IdleTimeout { get; init; }

    public int ReceiveLoops { get; init; } = 1;

    public string? CertificateOutputFile { get; init; }

    public string? CookieSecretFile { get; init; }

    public string? TicketKeysFile { get; init; }

    public bool Verbose { get; init; }

    /// <summary>Checks what the parser cannot: combinations and files. Null when everything is usable.</summary>
    public string? Validate()
    {
        if ((CertificateFile is null) != (KeyFile is null))
        {
            return "--cert and --key must be given together";
        }

        if (PskHint is not null && Psk.Count == 0)
        {
            return "--psk-hint needs --psk";
        }

        if (TicketKeysFile is not null && NoTickets)
        {
            return "--ticket-keys-file needs session tickets; remove --no-tickets";
        }

        return SampleArguments.CheckReadable("--cert", CertificateFile)
            ?? SampleArguments.CheckReadable("--key", KeyFile)
            ?? SampleArguments.CheckReadable("--ca", CaFile);
    }
}
