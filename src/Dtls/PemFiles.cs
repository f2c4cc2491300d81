using System.Text;

namespace OpenSsl.Dtls;

/// <summary>
/// Tells PEM from DER, and finds encrypted PEM private keys, by the rules of RFC 7468 as .NET's
/// <c>PemEncoding.TryFind</c> applies them (its lax decoding), not by looking at the first bytes.
/// Our own scanner rather than <c>PemEncoding</c>: its first call JIT-compiles its generic core and
/// the vectorised searches it uses, about 10 ms on the way to the first handshake under the JIT and
/// ReadyToRun (docs/benchmarks.md, cold start). tests/OpenSslDtls.Tests/Dtls/PemScannerTests.cs holds the two
/// to the same answers over a seeded sweep of real and mutated PEM.
/// </summary>
internal static class PemFiles
{
    private const string PreEncapsulationPrefix = "-----BEGIN ";
    private const string PostEncapsulationPrefix = "-----END ";
    private const string Dashes = "-----";

    /// <summary>
    /// True if the file holds a well-formed PEM block anywhere: OpenSSL's PEM reader skips text
    /// before a block (a blank line, <c>Bag Attributes</c> written by <c>openssl pkcs12 -nodes</c>),
    /// and so does this scanner.
    /// </summary>
    public static bool ContainsPem(string path)
    {
        // Latin-1 maps every byte to one char, so a DER file cannot fail to decode.
        string text = Encoding.Latin1.GetString(File.ReadAllBytes(path));
        return TryFind(text, out _, out _);
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
        while (TryFind(rest, out Range label, out int end))
        {
            if (rest[label].SequenceEqual("ENCRYPTED PRIVATE KEY"))
            {
                return true;
            }

            rest = rest[end..];
        }

        return false;
    }

    /// <summary>
    /// Finds the first PEM block of <paramref name="text"/> (RFC 7468 §2-3): <c>-----BEGIN label-----</c> at the
    /// start or after white space, a valid label, base64 content (white space anywhere, at most two <c>=</c> at
    /// the end, a multiple of four characters), and <c>-----END label-----</c> with the same label, followed by
    /// the end or white space. A candidate that fails is skipped and the search goes on after its label.
    /// </summary>
    /// <param name="text">The text to search.</param>
    /// <param name="label">Where the label of the block found is.</param>
    /// <param name="end">The index just after its <c>-----END label-----</c>.</param>
    internal static bool TryFind(ReadOnlySpan<char> text, out Range label, out int end)
    {
        label = default;
        end = 0;
        if (text.Length < PreEncapsulationPrefix.Length + PostEncapsulationPrefix.Length + (2 * Dashes.Length))
        {
            return false; // shorter than the smallest block, "-----BEGIN -----" + "-----END -----"
        }

        int from = 0;
        int begin;
        while ((begin = IndexOf(text, PreEncapsulationPrefix, from)) >= 0)
        {
            int labelStart = begin + PreEncapsulationPrefix.Length;
            if (begin > 0 && !IsWhiteSpace(text[begin - 1]))
            {
                from = labelStart;
                continue;
            }

            int labelEnd = IndexOf(text, Dashes, labelStart);
            if (labelEnd < 0)
            {
                return false; // no "-----" anywhere after: no block can be complete
            }

            if (IsBlock(text, labelStart, labelEnd, out end))
            {
                label = labelStart..labelEnd;
                return true;
            }

            if (labelEnd <= from)
            {
                return false;
            }

            from = labelEnd;
        }

        return false;
    }

    private static bool IsBlock(ReadOnlySpan<char> text, int labelStart, int labelEnd, out int end)
    {
        end = 0;
        ReadOnlySpan<char> label = text[labelStart..labelEnd];
        if (!IsValidLabel(label))
        {
            return false;
        }

        int contentStart = labelEnd + Dashes.Length;
        int postLength = PostEncapsulationPrefix.Length + label.Length + Dashes.Length;
        int post = IndexOf(text, string.Concat(PostEncapsulationPrefix, label, Dashes), contentStart);
        if (post < 0)
        {
            return false;
        }

        end = post + postLength;
        // After "-----END label-----": the end of the text or white space. As in .NET's reader, a single
        // last character after it is not examined.
        if (end < text.Length - 1 && !IsWhiteSpace(text[end]))
        {
            return false;
        }

        return IsBase64Content(text[contentStart..post]);
    }

    // RFC 7468 §3: labelchar is %x21-2C / %x2E-7E (printable ASCII but '-'); a single space or hyphen may
    // come between two labelchars; an empty label is allowed.
    private static bool IsValidLabel(ReadOnlySpan<char> label)
    {
        bool afterLabelChar = false;
        foreach (char c in label)
        {
            if (c is >= '!' and <= '~' and not '-')
            {
                afterLabelChar = true;
            }
            else if (c is ' ' or '-' && afterLabelChar)
            {
                afterLabelChar = false;
            }
            else
            {
                return false;
            }
        }

        return label.IsEmpty || afterLabelChar;
    }

    // RFC 7468 §3 lax base64: white space anywhere; base64 characters, then at most two '=' (nothing but
    // white space or '=' after the first '='); a multiple of four characters in all; and, as RFC 4648 §3.5
    // lets a decoder require, the bits a padded final group does not use are zero.
    private static bool IsBase64Content(ReadOnlySpan<char> content)
    {
        int characters = 0;
        int padding = 0;
        int last = 0;
        foreach (char c in content)
        {
            if (IsWhiteSpace(c))
            {
                continue;
            }

            if (c == '=')
            {
                padding++;
            }
            else if (padding == 0 && Base64Value(c) is int value and >= 0)
            {
                characters++;
                last = value;
            }
            else
            {
                return false;
            }
        }

        // "xx==" leaves the low 4 bits of the second character unused, "xxx=" the low 2 of the third.
        int unusedMask = padding switch { 2 => 0b1111, 1 => 0b11, _ => 0 };
        return padding <= 2 && (characters + padding) % 4 == 0 && (last & unusedMask) == 0;
    }

    private static int Base64Value(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '+' => 62,
        '/' => 63,
        _ => -1,
    };

    // The white space of base64 text (Convert.FromBase64String's).
    private static bool IsWhiteSpace(char c) => c is ' ' or '\t' or '\n' or '\r';

    private static int IndexOf(ReadOnlySpan<char> text, string value, int from)
    {
        int i = text[from..].IndexOf(value, StringComparison.Ordinal);
        return i < 0 ? -1 : i + from;
    }
}
