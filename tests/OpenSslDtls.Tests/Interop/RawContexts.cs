using OpenSsl.Interop;
using OpenSslDtls.Tests.Support;

namespace OpenSslDtls.Tests.Interop;

/// <summary>Step 1 of the blog, with the raw layer: DTLS contexts for a server and a verifying client.</summary>
internal static class RawContexts
{
    /// <summary><c>SSL_CTX_new(DTLS_method())</c> with DTLS 1.2 as the minimum version.</summary>
    public static SafeSslContextHandle NewDtlsContext()
    {
        ErrorQueue.Clear();
        SafeSslContextHandle context = ErrorQueue.ThrowIfInvalid(LibSsl.SSL_CTX_new(LibSsl.DTLS_method()), "SSL_CTX_new");
        try
        {
            ErrorQueue.ThrowIfNotOne(LibSsl.SSL_CTX_set_min_proto_version(context, LibSsl.DTLS1_2_VERSION), "SSL_CTX_set_min_proto_version");
            return context;
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>A server context whose identity is <paramref name="identity"/>, loaded from memory.</summary>
    public static SafeSslContextHandle Server(TestCertificate identity)
    {
        SafeSslContextHandle context = NewDtlsContext();
        try
        {
            TestPki.UseIdentity(context, identity);
            return context;
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>A client context that verifies the server (<c>SSL_VERIFY_PEER</c>) against the trust anchor of <paramref name="trusted"/>.</summary>
    public static unsafe SafeSslContextHandle Client(TestCertificate trusted)
    {
        SafeSslContextHandle context = NewDtlsContext();
        try
        {
            LibSsl.SSL_CTX_set_verify(context, LibSsl.SSL_VERIFY_PEER, null);
            TestPki.Trust(context, trusted);
            return context;
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>Checks the host name the client expects (<c>SSL_set1_host</c>).</summary>
    public static void ExpectHost(RawDtlsPeer client, string host)
    {
        ErrorQueue.Clear();
        ErrorQueue.ThrowIfNotOne(LibSsl.SSL_set1_host(client.Ssl, host), "SSL_set1_host");
    }
}
