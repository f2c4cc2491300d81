namespace OpenSsl.Interop;

/// <summary>
/// An OpenSSL call failed. Carries the whole error queue of the calling thread at the time of the
/// failure, oldest entry first; the message names the call and every entry's text.
/// </summary>
public sealed class OpenSslException : Exception
{
    /// <summary>Creates an exception for <paramref name="operation"/> with the given queue entries.</summary>
    public OpenSslException(string operation, IReadOnlyList<OpenSslError> errors)
        : base(Format(operation, errors))
    {
        Operation = operation;
        Errors = errors;
    }

    /// <summary>Creates an exception with a message and no queue entries.</summary>
    public OpenSslException(string message)
        : this(message, Array.Empty<OpenSslError>())
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public OpenSslException(string message, Exception innerException)
        : base(message, innerException)
    {
        Operation = message;
        Errors = Array.Empty<OpenSslError>();
    }

    /// <summary>Creates an exception with no message.</summary>
    public OpenSslException()
        : this("OpenSSL call", Array.Empty<OpenSslError>())
    {
    }

    /// <summary>The native call (or operation) that failed.</summary>
    public string Operation { get; }

    /// <summary>The error queue entries, oldest first. May be empty when OpenSSL queued nothing.</summary>
    public IReadOnlyList<OpenSslError> Errors { get; }

    /// <summary>The packed code of the last (most specific) error, or 0.</summary>
    public ulong LastErrorCode => Errors.Count == 0 ? 0 : Errors[^1].Code;

    private static string Format(string operation, IReadOnlyList<OpenSslError> errors) =>
        errors.Count == 0
            ? $"{operation} failed (the OpenSSL error queue was empty)."
            : $"{operation} failed: {string.Join("; ", errors)}";
}
