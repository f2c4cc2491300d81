using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>libssl: <c>SSL_SESSION</c>, for resumption.</summary>
public static unsafe partial class LibSsl
{
    /// <summary><c>SSL_SESSION *SSL_get1_session(SSL *ssl)</c> (owned)</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial SafeSslSessionHandle SSL_get1_session(SafeSslHandle ssl);

    /// <summary><c>int SSL_set_session(SSL *ssl, SSL_SESSION *session)</c>; the SSL takes its own reference.</summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_set_session(SafeSslHandle ssl, SafeSslSessionHandle session);

    /// <summary><c>void SSL_SESSION_free(SSL_SESSION *session)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial void SSL_SESSION_free(nint session);

    /// <summary><c>int SSL_SESSION_is_resumable(const SSL_SESSION *s)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int SSL_SESSION_is_resumable(SafeSslSessionHandle session);

    /// <summary><c>int i2d_SSL_SESSION(const SSL_SESSION *in, unsigned char **pp)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial int i2d_SSL_SESSION(SafeSslSessionHandle session, ref byte* output);

    /// <summary><c>SSL_SESSION *d2i_SSL_SESSION(SSL_SESSION **a, const unsigned char **pp, long length)</c></summary>
    [LibraryImport(Libraries.Ssl)]
    public static partial SafeSslSessionHandle d2i_SSL_SESSION(nint a, ref byte* input, nint length);
}
