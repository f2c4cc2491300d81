namespace OpenSsl.Dtls;

/// <summary>A DTLS protocol version.</summary>
public enum DtlsProtocolVersion
{
    /// <summary>DTLS 1.2 (RFC 6347), the minimum this library negotiates by default.</summary>
    Dtls12 = 0xFEFD,

    /// <summary>DTLS 1.3 (RFC 9147); negotiated only when the loaded libssl implements it.</summary>
    Dtls13 = 0xFEFC,
}
