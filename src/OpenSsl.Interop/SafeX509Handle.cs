namespace OpenSsl.Interop;

/// <summary>An owned <c>X509*</c>; released with <c>X509_free</c>.</summary>
public sealed class SafeX509Handle : OpenSslHandle
{
    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        LibCrypto.X509_free(handle);
        return true;
    }
}
