namespace OpenSsl.Interop;

/// <summary>An owned <c>BIO_ADDR*</c> from <c>BIO_ADDR_new</c>; released with <c>BIO_ADDR_free</c>.</summary>
public sealed class SafeBioAddrHandle : OpenSslHandle
{
    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        LibCrypto.BIO_ADDR_free(handle);
        return true;
    }
}
