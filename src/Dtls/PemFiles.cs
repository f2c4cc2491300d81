using System.Security.Cryptography;
using System.Text;

namespace OpenSsl.Dtls;

/// <summary>Tells PEM from DER with the BCL's PEM reader, not by looking at the first bytes.</summary>
internal static class PemFiles
{
    /// <summary>
    /// True if the file holds a well-formed PEM block anywhere: OpenSSL's PEM reader skips text
    /// before a block (a blank line, <c>Bag Attributes</c> written by <c>openssl pkcs12 -nodes</c>),
    /// and so does <see cref="PemEncoding.TryFind(ReadOnlySpan{char}, out PemFields)"/>.
    /// </summary>
    public static bool ContainsPem(string path)
    {
        // Latin-1 maps every byte to one char, so a DER file cannot fail to decode.
        string text = Encoding.Latin1.GetString(File.ReadAllBytes(path));
        return PemEncoding.TryFind(text, out _);
    }

    /// <summary>
    /// True if the file holds an encrypted PEM private key: PKCS#8 <c>ENCRYPTED PRIVATE KEY</c> or a
    /// traditional key with <c>Proc-Type: 4,ENCRYPTED</c>. OpenSSL would ask for its passphrase on the
    /// terminal (its default PEM password callback), which blocks a server forever.
    /// </summary>
    public static bool IsEncryptedPrivateKey(string path)
    {
        string text = Encoding.Latin1.GetString(File.ReadAllBytes(path));
        if (text.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal))
        {
            return true;
        }

        ReadOnlySpan<char> rest = text;
        while (PemEncoding.TryFind(rest, out PemFields fields))
        {
            if (rest[fields.Label].SequenceEqual("ENCRYPTED PRIVATE KEY"))
            {
                return true;
            }

            rest = rest[fields.Location.End..];
        }

        return false;
    }
}
