namespace OpenSsl.Interop;

/// <summary>
/// The logical library names every <c>LibraryImport</c> in this assembly uses. They are not file
/// names: <see cref="OpenSslLibrary"/> maps them to the platform's libssl/libcrypto files, so that
/// both always come from the same OpenSSL installation.
/// </summary>
public static class Libraries
{
    /// <summary>Logical name of OpenSSL's TLS/DTLS library (libssl).</summary>
    public const string Ssl = "libssl";

    /// <summary>Logical name of OpenSSL's crypto library (libcrypto).</summary>
    public const string Crypto = "libcrypto";
}
