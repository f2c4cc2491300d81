namespace OpenSslDtls.Samples.EchoClient;

/// <summary>The parsed command line of the echo client.</summary>
internal sealed record EchoClientSettings
{
    public required string Host { get; init; }

    public int Port { get; init; }

    public string? File { get; init; }

    public string? Message { get; init; }

    public string? CaFile { get; init; }

    public bool Insecure { get; init; }

    public string? Pin { get; init; }

    public string? ServerName { get; init; }

    public string? CertificateFile { get; init; }

    public string? KeyFile { get; init; }

    public string? Psk { get; init; }

    public string? CipherList { get; init; }

    public bool AllowLegacyCiphers { get; init; }

    public string? Srtp { get; init; }

    public string? KeyLogFile { get; init; }

    public int Connections { get; init; } = 1;

    public bool NoEcho { get; init; }

    public int Count { get; init; }

    public TimeSpan Timeout { get; init; }

    public string? Alpn { get; init; }

    public int Mtu { get; init; }

    /// <summary>Checks what the parser cannot: combinations and files. Null when everything is usable.</summary>
    public string? Validate()
    {
        if (File is not null && Message is not null)
        {
            return "--file and --message are mutually exclusive";
        }

        if ((CaFile is not null ? 1 : 0) + (Insecure ? 1 : 0) + (Pin is not null ? 1 : 0) > 1)
        {
            return "--ca, --pin and --insecure are mutually exclusive";
        }

        if ((CertificateFile is null) != (KeyFile is null))
        {
            return "--cert and --key must be given together";
        }

        if (Message is { Length: 0 })
        {
            return "--message must not be empty";
        }

        return SampleArguments.CheckReadable("--file", File)
            ?? SampleArguments.CheckReadable("--ca", CaFile)
            ?? SampleArguments.CheckReadable("--cert", CertificateFile)
            ?? SampleArguments.CheckReadable("--key", KeyFile);
    }
}
