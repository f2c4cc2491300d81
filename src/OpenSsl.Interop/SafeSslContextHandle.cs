namespace OpenSsl.Interop;

/// <summary>An owned <c>SSL_CTX*</c>; released with <c>SSL_CTX_free</c>.</summary>
public sealed class SafeSslContextHandle : OpenSslHandle
{
    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        LibSsl.SSL_CTX_free(handle);
        return true;
    }
}
