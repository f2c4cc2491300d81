namespace OpenSsl.Interop;

/// <summary>One entry of OpenSSL's error queue, as <c>ERR_get_error_all</c> reports it.</summary>
/// <param name="Code">The packed error code.</param>
/// <param name="Library">The library that raised it (for example "SSL routines").</param>
/// <param name="Reason">The reason text (for example "certificate verify failed").</param>
/// <param name="Text">The full line from <c>ERR_error_string_n</c>.</param>
/// <param name="Function">The C function that raised it, if known.</param>
/// <param name="Data">Extra data attached to the error (often a file name), or null.</param>
public sealed record OpenSslError(ulong Code, string? Library, string? Reason, string Text, string? Function, string? Data)
{
    /// <inheritdoc />
    public override string ToString() => Data is null ? Text : $"{Text} ({Data})";
}
