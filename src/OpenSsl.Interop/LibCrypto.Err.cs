using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>libcrypto: the thread-local error queue (<c>ERR_*</c>) and library version.</summary>
public static unsafe partial class LibCrypto
{
    /// <summary><c>unsigned long ERR_get_error_all(const char **file, int *line, const char **func, const char **data, int *flags)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nuint ERR_get_error_all(out nint file, out int line, out nint func, out nint data, out int flags);

    /// <summary><c>unsigned long ERR_peek_error(void)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nuint ERR_peek_error();

    /// <summary><c>void ERR_clear_error(void)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void ERR_clear_error();

    /// <summary><c>void ERR_error_string_n(unsigned long e, char *buf, size_t len)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void ERR_error_string_n(nuint e, byte* buf, nuint len);

    [LibraryImport(Libraries.Crypto, EntryPoint = "ERR_lib_error_string")]
    private static partial nint ERR_lib_error_string_ptr(nuint e);

    [LibraryImport(Libraries.Crypto, EntryPoint = "ERR_reason_error_string")]
    private static partial nint ERR_reason_error_string_ptr(nuint e);

    /// <summary><c>const char *ERR_lib_error_string(unsigned long e)</c></summary>
    public static string? ERR_lib_error_string(nuint e) => Marshal.PtrToStringUTF8(ERR_lib_error_string_ptr(e));

    /// <summary><c>const char *ERR_reason_error_string(unsigned long e)</c></summary>
    public static string? ERR_reason_error_string(nuint e) => Marshal.PtrToStringUTF8(ERR_reason_error_string_ptr(e));

    /// <summary>Flag in <c>ERR_get_error_all</c>'s <c>flags</c>: <c>data</c> is a string.</summary>
    public const int ERR_TXT_STRING = 0x02;

    /// <summary><c>unsigned long OpenSSL_version_num(void)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nuint OpenSSL_version_num();

    [LibraryImport(Libraries.Crypto, EntryPoint = "OpenSSL_version")]
    private static partial nint OpenSSL_version_ptr(int type);

    /// <summary><c>const char *OpenSSL_version(int t)</c></summary>
    public static string? OpenSSL_version(int type) => Marshal.PtrToStringUTF8(OpenSSL_version_ptr(type));

    /// <summary><c>OPENSSL_VERSION</c>: the type for <see cref="OpenSSL_version"/> giving "OpenSSL 3.0.x ...".</summary>
    public const int OPENSSL_VERSION = 0;

    /// <summary><c>void CRYPTO_free(void *ptr, const char *file, int line)</c>; <c>OPENSSL_free(p)</c> expands to it.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void CRYPTO_free(nint address, nint file, int line);

    /// <summary><c>OPENSSL_free(p)</c> = <c>CRYPTO_free(p, OPENSSL_FILE, OPENSSL_LINE)</c>.</summary>
    public static void OPENSSL_free(nint address) => CRYPTO_free(address, 0, 0);
}
