using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>
/// libcrypto: the few <c>EVP_CIPHER_CTX</c>/<c>EVP_MAC_CTX</c>/<c>OSSL_PARAM</c> calls a session-ticket key
/// callback needs (SSL_CTX_set_tlsext_ticket_key_evp_cb(3)): OpenSSL hands the callback contexts it owns,
/// the callback only initialises them with a key.
/// </summary>
public static unsafe partial class LibCrypto
{
    /// <summary><c>EVP_MAX_IV_LENGTH</c>: the size of the IV buffer OpenSSL passes to the ticket key callback.</summary>
    public const int EVP_MAX_IV_LENGTH = 16;

    /// <summary><c>OSSL_MAC_PARAM_KEY</c> ("key"), NUL-terminated.</summary>
    public static ReadOnlySpan<byte> OSSL_MAC_PARAM_KEY => "key\0"u8;

    /// <summary><c>OSSL_MAC_PARAM_DIGEST</c> ("digest"), NUL-terminated.</summary>
    public static ReadOnlySpan<byte> OSSL_MAC_PARAM_DIGEST => "digest\0"u8;

    /// <summary><c>const EVP_CIPHER *EVP_aes_256_cbc(void)</c>: the cipher OpenSSL's own ticket keys use.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nint EVP_aes_256_cbc();

    /// <summary><c>int EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl, const unsigned char *key, const unsigned char *iv)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int EVP_EncryptInit_ex(nint ctx, nint cipher, nint engine, byte* key, byte* iv);

    /// <summary><c>int EVP_DecryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl, const unsigned char *key, const unsigned char *iv)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int EVP_DecryptInit_ex(nint ctx, nint cipher, nint engine, byte* key, byte* iv);

    /// <summary><c>int EVP_MAC_CTX_set_params(EVP_MAC_CTX *ctx, const OSSL_PARAM params[])</c>; <paramref name="parameters"/> ends with <see cref="OSSL_PARAM_construct_end"/>.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int EVP_MAC_CTX_set_params(nint ctx, OSSL_PARAM* parameters);

    /// <summary><c>OSSL_PARAM OSSL_PARAM_construct_octet_string(const char *key, void *buf, size_t bsize)</c>; <paramref name="key"/> is NUL-terminated.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial OSSL_PARAM OSSL_PARAM_construct_octet_string(byte* key, void* buffer, nuint size);

    /// <summary><c>OSSL_PARAM OSSL_PARAM_construct_utf8_string(const char *key, char *buf, size_t bsize)</c>; <paramref name="size"/> 0 means NUL-terminated.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial OSSL_PARAM OSSL_PARAM_construct_utf8_string(byte* key, byte* buffer, nuint size);

    /// <summary><c>OSSL_PARAM OSSL_PARAM_construct_end(void)</c>: the terminator of a parameter array.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial OSSL_PARAM OSSL_PARAM_construct_end();
}

/// <summary><c>struct ossl_param_st</c> (OSSL_PARAM(3)): built with the <c>OSSL_PARAM_construct_*</c> calls, never by hand.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct OSSL_PARAM
{
    /// <summary><c>const char *key</c></summary>
    public nint Key;

    /// <summary><c>unsigned int data_type</c></summary>
    public uint DataType;

    /// <summary><c>void *data</c></summary>
    public nint Data;

    /// <summary><c>size_t data_size</c></summary>
    public nuint DataSize;

    /// <summary><c>size_t return_size</c></summary>
    public nuint ReturnSize;
}
