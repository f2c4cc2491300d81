using OpenSsl.Interop;

namespace OpenSsl.Dtls;

/// <summary>The handshake failed because a certificate was rejected; <see cref="Failure"/> says which check failed.</summary>
/// <remarks>
/// It derives from <see cref="DtlsException"/> (an <see cref="IOException"/>), not from
/// <see cref="System.Security.Authentication.AuthenticationException"/> as <c>SslStream</c>'s does:
/// .NET has single inheritance, and code that catches <see cref="DtlsException"/> or
/// <see cref="IOException"/> around a handshake must keep seeing certificate failures (with
/// <see cref="DtlsException.Alert"/>). Catch <see cref="DtlsAuthenticationException"/> for certificate
/// failures only, <see cref="DtlsException"/> for every handshake failure.
/// </remarks>
public sealed class DtlsAuthenticationException : DtlsException
{
    /// <summary>Creates an exception with a message.</summary>
    public DtlsAuthenticationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public DtlsAuthenticationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with no message.</summary>
    public DtlsAuthenticationException()
    {
    }

    internal DtlsAuthenticationException(DtlsCertificateFailure failure, string detail, Exception callbackException)
        : base($"Certificate validation failed ({failure}): {detail}", callbackException)
    {
        Failure = failure;
        Detail = detail;
    }

    internal DtlsAuthenticationException(DtlsCertificateFailure failure, string detail, DtlsAlert? alert, OpenSslException? errors)
        : base($"Certificate validation failed ({failure}): {detail}", alert, errors)
    {
        Failure = failure;
        Detail = detail;
    }

    /// <summary>Which check rejected the certificate.</summary>
    public DtlsCertificateFailure Failure { get; }

    /// <summary>OpenSSL's or the callback's explanation ("certificate has expired", "hostname mismatch" ...).</summary>
    public string? Detail { get; }
}
