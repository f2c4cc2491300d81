namespace OpenSsl.Interop;

/// <summary>
/// An owned <c>BIO_METHOD*</c> from <c>BIO_meth_new</c>; released with <c>BIO_meth_free</c>.
/// It must outlive every BIO created from it.
/// </summary>
public sealed class SafeBioMethodHandle : OpenSslHandle
{
    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        LibCrypto.BIO_meth_free(handle);
        return true;
    }
}
