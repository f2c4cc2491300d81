using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>libcrypto: certificates, keys, stores, PEM/DER loading and <c>STACK_OF</c>.</summary>
public static unsafe partial class LibCrypto
{
    /// <summary><c>X509 *d2i_X509(X509 **a, const unsigned char **in, long len)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial SafeX509Handle d2i_X509(nint a, ref byte* input, nint length);

    /// <summary>Parses one DER certificate.</summary>
    public static SafeX509Handle d2i_X509(ReadOnlySpan<byte> der)
    {
        fixed (byte* p = der)
        {
            byte* cursor = p;
            return d2i_X509(0, ref cursor, der.Length);
        }
    }

    /// <summary><c>int i2d_X509(const X509 *a, unsigned char **out)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int i2d_X509(SafeX509Handle x509, ref byte* output);

    /// <summary><c>int i2d_X509(const X509 *a, unsigned char **out)</c> on a borrowed pointer.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int i2d_X509(nint x509, ref byte* output);

    /// <summary>Encodes a borrowed <c>X509*</c> as DER (two <c>i2d_X509</c> calls: size, then bytes).</summary>
    public static byte[] i2d_X509(nint x509)
    {
        byte* none = null;
        int length = i2d_X509(x509, ref none);
        if (length <= 0)
        {
            throw ErrorQueue.ToException("i2d_X509");
        }

        byte[] der = new byte[length];
        fixed (byte* p = der)
        {
            byte* cursor = p;
            if (i2d_X509(x509, ref cursor) != length)
            {
                throw ErrorQueue.ToException("i2d_X509");
            }
        }

        return der;
    }

    /// <summary>Encodes an owned certificate as DER.</summary>
    public static byte[] i2d_X509(SafeX509Handle x509)
    {
        bool added = false;
        try
        {
            x509.DangerousAddRef(ref added);
            return i2d_X509(x509.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                x509.DangerousRelease();
            }
        }
    }

    /// <summary>The DER encodings of a borrowed <c>STACK_OF(X509)</c>, in order (<c>sk_X509_num</c>, <c>sk_X509_value</c>, <c>i2d_X509</c>).</summary>
    public static List<byte[]> i2d_X509_stack(nint stack)
    {
        int count = stack == 0 ? 0 : OPENSSL_sk_num(stack);
        var ders = new List<byte[]>(Math.Max(count, 0));
        for (int i = 0; i < count; i++)
        {
            ders.Add(i2d_X509(OPENSSL_sk_value(stack, i)));
        }

        return ders;
    }

    /// <summary><c>void X509_free(X509 *a)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void X509_free(nint x509);

    /// <summary><c>int X509_up_ref(X509 *a)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int X509_up_ref(nint x509);

    /// <summary><c>X509 *PEM_read_bio_X509(BIO *bp, X509 **x, pem_password_cb *cb, void *u)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial SafeX509Handle PEM_read_bio_X509(SafeBioHandle bio, nint x, nint cb, nint u);

    /// <summary><c>EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb, void *u)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial SafeEvpPKeyHandle PEM_read_bio_PrivateKey(SafeBioHandle bio, nint x, nint cb, nint u);

    /// <summary><c>EVP_PKEY *d2i_AutoPrivateKey(EVP_PKEY **a, const unsigned char **pp, long length)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial SafeEvpPKeyHandle d2i_AutoPrivateKey(nint a, ref byte* input, nint length);

    /// <summary>Parses a DER private key (PKCS#8 or the algorithm's own form).</summary>
    public static SafeEvpPKeyHandle d2i_AutoPrivateKey(ReadOnlySpan<byte> der)
    {
        fixed (byte* p = der)
        {
            byte* cursor = p;
            return d2i_AutoPrivateKey(0, ref cursor, der.Length);
        }
    }

    /// <summary><c>void EVP_PKEY_free(EVP_PKEY *key)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void EVP_PKEY_free(nint key);

    /// <summary><c>int X509_STORE_add_cert(X509_STORE *xs, X509 *x)</c>; the store takes its own reference.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int X509_STORE_add_cert(nint store, SafeX509Handle x509);

    /// <summary><c>int X509_verify_cert(X509_STORE_CTX *ctx)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int X509_verify_cert(nint storeCtx);

    /// <summary><c>int X509_STORE_CTX_get_error(const X509_STORE_CTX *ctx)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int X509_STORE_CTX_get_error(nint storeCtx);

    /// <summary><c>void X509_STORE_CTX_set_error(X509_STORE_CTX *ctx, int s)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial void X509_STORE_CTX_set_error(nint storeCtx, int error);

    /// <summary><c>int X509_STORE_CTX_get_error_depth(const X509_STORE_CTX *ctx)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int X509_STORE_CTX_get_error_depth(nint storeCtx);

    /// <summary><c>X509 *X509_STORE_CTX_get_current_cert(const X509_STORE_CTX *ctx)</c> (borrowed)</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nint X509_STORE_CTX_get_current_cert(nint storeCtx);

    /// <summary><c>void *X509_STORE_CTX_get_ex_data(const X509_STORE_CTX *d, int idx)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nint X509_STORE_CTX_get_ex_data(nint storeCtx, int index);

    /// <summary><c>STACK_OF(X509) *X509_STORE_CTX_get0_untrusted(const X509_STORE_CTX *ctx)</c> (borrowed)</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nint X509_STORE_CTX_get0_untrusted(nint storeCtx);

    /// <summary><c>X509 *X509_STORE_CTX_get0_cert(const X509_STORE_CTX *ctx)</c> (borrowed): the certificate being verified.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nint X509_STORE_CTX_get0_cert(nint storeCtx);

    [LibraryImport(Libraries.Crypto, EntryPoint = "X509_verify_cert_error_string")]
    private static partial nint X509_verify_cert_error_string_ptr(nint error);

    /// <summary><c>const char *X509_verify_cert_error_string(long n)</c></summary>
    public static string X509_verify_cert_error_string(long error) =>
        Marshal.PtrToStringUTF8(X509_verify_cert_error_string_ptr((nint)error)) ?? $"X509 verify error {error}";

    /// <summary><c>X509_V_OK</c></summary>
    public const int X509_V_OK = 0;

    /// <summary><c>X509_V_ERR_APPLICATION_VERIFICATION</c>: the application rejected the certificate.</summary>
    public const int X509_V_ERR_APPLICATION_VERIFICATION = 50;

    /// <summary><c>X509_V_ERR_CERT_HAS_EXPIRED</c></summary>
    public const int X509_V_ERR_CERT_HAS_EXPIRED = 10;

    /// <summary><c>X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT</c></summary>
    public const int X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT = 2;

    /// <summary><c>X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT</c></summary>
    public const int X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT = 18;

    /// <summary><c>X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN</c></summary>
    public const int X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN = 19;

    /// <summary><c>X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY</c></summary>
    public const int X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20;

    /// <summary><c>X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE</c></summary>
    public const int X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21;

    /// <summary><c>X509_V_ERR_CERT_NOT_YET_VALID</c></summary>
    public const int X509_V_ERR_CERT_NOT_YET_VALID = 9;

    /// <summary><c>X509_V_ERR_IP_ADDRESS_MISMATCH</c></summary>
    public const int X509_V_ERR_IP_ADDRESS_MISMATCH = 64;

    /// <summary><c>X509_V_ERR_HOSTNAME_MISMATCH</c></summary>
    public const int X509_V_ERR_HOSTNAME_MISMATCH = 62;

    /// <summary><c>int OPENSSL_sk_num(const OPENSSL_STACK *st)</c>; <c>sk_X509_num</c> expands to it.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int OPENSSL_sk_num(nint stack);

    /// <summary><c>void *OPENSSL_sk_value(const OPENSSL_STACK *st, int i)</c>; <c>sk_X509_value</c> expands to it.</summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial nint OPENSSL_sk_value(nint stack, int index);

    /// <summary><c>int RAND_bytes(unsigned char *buf, int num)</c></summary>
    [LibraryImport(Libraries.Crypto)]
    public static partial int RAND_bytes(byte* buffer, int count);
}
