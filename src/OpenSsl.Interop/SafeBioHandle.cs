namespace OpenSsl.Interop;

/// <summary>
/// An owned <c>BIO*</c>; released with <c>BIO_free</c>. After <c>SSL_set_bio</c> succeeds the
/// <c>SSL</c> owns the BIO: call <see cref="OpenSslHandle.TransferOwnership"/> then.
/// </summary>
public sealed class SafeBioHandle : OpenSslHandle
{
    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        return LibCrypto.BIO_free(handle) == 1;
    }
}
