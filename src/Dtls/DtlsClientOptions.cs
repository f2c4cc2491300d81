namespace OpenSsl.Dtls;

/// <summary>Settings of a DTLS client.</summary>
public sealed class DtlsClientOptions : DtlsOptions
{
    /// <summary>
    /// The server's name: sent as SNI and checked against the server certificate's names (a DNS
    /// name or an IP address literal). Required when certificates are verified by chain, unless
    /// pins are set.
    /// </summary>
    public string? TargetHost { get; init; }

    /// <summary>The identity sent for a pre-shared key (RFC 4279). Set together with <see cref="PskKey"/>.</summary>
    public string? PskIdentity { get; init; }

    /// <summary>The pre-shared key. Setting it enables the PSK cipher suites.</summary>
    public ReadOnlyMemory<byte> PskKey { get; init; }

    /// <summary>
    /// Resume earlier sessions with the same server (same <see cref="TargetHost"/> and endpoint)
    /// from a per-context cache of tickets and IDs. Default true.
    /// </summary>
    public bool AllowSessionResumption { get; init; } = true;

    internal override bool IsServer => false;
}
