using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenSsl.Interop;
using SafeEvpPKeyHandle = OpenSsl.Interop.SafeEvpPKeyHandle;

namespace OpenSsl.Dtls;

/// <summary>Moves certificates and keys between .NET's types and OpenSSL's, through DER.</summary>
internal static class CertificateConversion
{
    public static SafeX509Handle ToNative(X509Certificate2 certificate)
    {
        ErrorQueue.Clear();
        return ErrorQueue.ThrowIfInvalid(LibCrypto.d2i_X509(certificate.RawDataMemory.Span), "d2i_X509");
    }

    public static SafeEvpPKeyHandle PrivateKeyToNative(X509Certificate2 certificate, string setting)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetRSAPrivateKey()
            ?? (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey()
            ?? throw SettingErrors.Invalid(setting, $"{setting}: the private key of '{certificate.Subject}' is neither RSA nor ECDSA.");
        byte[] pkcs8;
        try
        {
            pkcs8 = key.ExportPkcs8PrivateKey();
        }
        catch (CryptographicException e)
        {
            throw SettingErrors.Invalid(setting, $"the private key of '{certificate.Subject}' cannot be exported to OpenSSL (load it with X509KeyStorageFlags.Exportable).", e);
        }

        try
        {
            ErrorQueue.Clear();
            return ErrorQueue.ThrowIfInvalid(LibCrypto.d2i_AutoPrivateKey(pkcs8), "d2i_AutoPrivateKey");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>Copies a native certificate into a managed one.</summary>
    public static X509Certificate2 FromNative(SafeX509Handle x509) => X509CertificateLoader.LoadCertificate(LibCrypto.i2d_X509(x509));
}
