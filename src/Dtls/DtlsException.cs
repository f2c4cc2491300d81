using OpenSsl.Interop;

namespace OpenSsl.Dtls;

/// <summary>
/// A DTLS handshake or record failed. Carries the alert that was sent or received (if any) and,
/// as the inner exception, OpenSSL's error queue.
/// </summary>
public class DtlsException : IOException
{
    /// <summary>Creates an exception with a message.</summary>
    public DtlsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public DtlsException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with no message.</summary>
    public DtlsException()
    {
    }

    internal DtlsException(string message, DtlsAlert? alert, OpenSslException? errors)
        : base(alert is null ? message : $"{message}: {alert}", errors) => Alert = alert;

    /// <summary>The alert that ended the session, if one was sent or received.</summary>
    public DtlsAlert? Alert { get; }
}
