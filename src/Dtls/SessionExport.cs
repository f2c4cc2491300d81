using System.Security.Cryptography;
using System.Text;
using OpenSsl.Interop;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>
/// An <c>SSL_SESSION</c> as bytes and back: DER (<c>i2d_SSL_SESSION</c>/<c>d2i_SSL_SESSION</c>, the
/// ASN.1 SSL_SESSION structure), or the PEM form <c>openssl s_client -sess_out</c> writes
/// (label "SSL SESSION PARAMETERS", PEM_write_bio_SSL_SESSION(3)).
/// </summary>
internal static unsafe class SessionExport
{
    public const string PemLabel = "SSL SESSION PARAMETERS";

    public static byte[] Encode(SafeSslSessionHandle session)
    {
        byte* none = null;
        int length = i2d_SSL_SESSION(session, ref none);
        if (length <= 0)
        {
            throw ErrorQueue.ToException("i2d_SSL_SESSION");
        }

        byte[] der = new byte[length];
        fixed (byte* p = der)
        {
            byte* cursor = p;
            if (i2d_SSL_SESSION(session, ref cursor) != length)
            {
                throw ErrorQueue.ToException("i2d_SSL_SESSION");
            }
        }

        return der;
    }

    /// <summary>Parses DER or PEM; throws <see cref="ArgumentException"/> (naming <paramref name="parameter"/>) for anything else or a session that cannot resume.</summary>
    public static SafeSslSessionHandle Decode(ReadOnlySpan<byte> data, string parameter)
    {
        byte[]? fromPem = null;
        if (data.StartsWith("-----BEGIN "u8))
        {
            fromPem = FromPem(Encoding.ASCII.GetString(data), parameter);
            data = fromPem;
        }

        try
        {
            ErrorQueue.Clear();
            SafeSslSessionHandle session;
            fixed (byte* p = data)
            {
                byte* cursor = p;
                session = d2i_SSL_SESSION(0, ref cursor, data.Length);
                if (!session.IsInvalid && cursor != p + data.Length)
                {
                    session.Dispose();
                    throw new ArgumentException($"The exported session has {data.Length - (cursor - p)} bytes after its SSL_SESSION structure; pass exactly what ExportSession returned.", parameter);
                }
            }

            if (session.IsInvalid)
            {
                OpenSslException errors = ErrorQueue.ToException("d2i_SSL_SESSION");
                session.Dispose();
                throw new ArgumentException($"The bytes are not an exported session (DER from DtlsSession.ExportSession or PEM '{PemLabel}' from openssl s_client -sess_out): {errors.Message}", parameter, errors);
            }

            if (SSL_SESSION_is_resumable(session) != 1)
            {
                session.Dispose();
                throw new ArgumentException("The exported session cannot be resumed: it holds neither a session ID nor a ticket.", parameter);
            }

            return session;
        }
        finally
        {
            if (fromPem is not null)
            {
                CryptographicOperations.ZeroMemory(fromPem); // it holds the master secret
            }
        }
    }

    private static byte[] FromPem(string text, string parameter)
    {
        if (!PemEncoding.TryFind(text, out PemFields fields) || text[fields.Label] != PemLabel)
        {
            throw new ArgumentException($"PEM input must be one '{PemLabel}' block (what openssl s_client -sess_out writes).", parameter);
        }

        return Convert.FromBase64String(text[fields.Base64Data].ToString());
    }
}
