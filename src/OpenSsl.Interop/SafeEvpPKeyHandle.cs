namespace OpenSsl.Interop;

/// <summary>An owned <c>EVP_PKEY*</c>; released with <c>EVP_PKEY_free</c>.</summary>
public sealed class SafeEvpPKeyHandle : OpenSslHandle
{
    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        LibCrypto.EVP_PKEY_free(handle);
        return true;
    }
}
