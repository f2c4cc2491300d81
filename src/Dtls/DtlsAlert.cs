namespace OpenSsl.Dtls;

/// <summary>A (D)TLS alert (RFC 5246 §7.2) sent or received during a session.</summary>
/// <param name="Description">The alert's code (40 is handshake_failure, 42 bad_certificate, 0 close_notify ...).</param>
/// <param name="Name">OpenSSL's long name of the alert ("handshake failure").</param>
/// <param name="IsFatal">Whether the alert ended the session.</param>
/// <param name="Sent">True if this endpoint sent it, false if the peer did.</param>
public sealed record DtlsAlert(int Description, string Name, bool IsFatal, bool Sent)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{(IsFatal ? "fatal" : "warning")} alert '{Name}' ({Description}) {(Sent ? "sent to" : "received from")} the peer";
}
