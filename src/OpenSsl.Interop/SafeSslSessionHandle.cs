namespace OpenSsl.Interop;

/// <summary>An owned <c>SSL_SESSION*</c>; released with <c>SSL_SESSION_free</c>.</summary>
public sealed class SafeSslSessionHandle : OpenSslHandle
{
    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        LibSsl.SSL_SESSION_free(handle);
        return true;
    }
}
