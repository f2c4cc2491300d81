namespace OpenSsl.Interop;

/// <summary>An owned <c>SSL*</c>; released with <c>SSL_free</c>.</summary>
public sealed class SafeSslHandle : OpenSslHandle
{
    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        LibSsl.SSL_free(handle);
        return true;
    }
}
