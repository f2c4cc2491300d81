namespace OpenSsl.Dtls;

/// <summary>Which check rejected the peer's certificate.</summary>
public enum DtlsCertificateFailure
{
    /// <summary>The chain did not lead to a trusted root (unknown CA, bad signature, wrong usage ...).</summary>
    Chain,

    /// <summary>The certificate does not name the expected host (<see cref="DtlsClientOptions.TargetHost"/>).</summary>
    Name,

    /// <summary>The certificate (or one in its chain) has expired or is not yet valid.</summary>
    Expired,

    /// <summary>The certificate matches none of the pinned SHA-256 fingerprints.</summary>
    Pin,

    /// <summary>The application's validation callback rejected it.</summary>
    Callback,

    /// <summary>The peer sent no certificate although one is required.</summary>
    Missing,

    /// <summary>The peer rejected this endpoint's certificate (it sent a certificate alert).</summary>
    RejectedByPeer,
}
