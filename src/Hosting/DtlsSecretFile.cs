using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace OpenSsl.Dtls.Hosting;

/// <summary>
/// One fleet secret file: the HelloVerifyRequest cookie secret (<see cref="DtlsListenerOptions.CookieSecret"/>)
/// or the session-ticket keys (<see cref="DtlsServerOptions.SessionTicketKeys"/>) that every instance of a
/// fleet shares (docs/deployment.md). The hosting package's <see cref="DtlsHostedListenerOptions.CookieSecretFile"/>
/// and <see cref="DtlsHostedListenerOptions.TicketKeysFile"/> and the EchoServer sample's
/// <c>--cookie-secret-file</c>/<c>--ticket-keys-file</c> read files through this one type, so both take one format.
/// </summary>
/// <remarks>
/// <para>Format, decided by one rule that cannot take text for raw bytes: a file (after an optional UTF-8 byte
/// order mark) that is valid UTF-8 holding only printable characters, tabs and line ends (LF or CRLF) is text,
/// and must then be valid text: each line is blank, a comment (first non-blank character <c>#</c>, any UTF-8
/// after it), hex digits only (upper or lower case, an even number), or <c>base64:</c> followed by base64;
/// the decoded lines are concatenated in order. An error names the line (<c>line 3: 'g' at column 17 is not a
/// hex digit</c>). Any other file is raw bytes, unless seven eighths or more of its bytes are printable ASCII:
/// that is text damaged by a byte that is not UTF-8 (a Latin-1 comment) and is refused naming the byte and its
/// line (random bytes are printable ASCII 98 times in 256).</para>
/// <para>A cookie secret holds at least <see cref="MinCookieSecretBytes"/> bytes (a raw file 32 to
/// <see cref="MaxRawCookieSecretBytes"/>, sizes a text file holding 32 bytes of hex never has). Ticket keys are one or more
/// (at most <see cref="MaxTicketKeys"/>) <see cref="TicketKeyBytes"/>-byte keys, newest first, each a 16-byte
/// name, a 32-byte HMAC secret and a 32-byte AES key (<c>openssl rand -hex 80</c>).</para>
/// <para>On Unix a file that group or others may access (any bit of mode 077) is refused, as ssh refuses an
/// open private key; make it the owner's only (<c>chmod 600</c>, or 0400; a Kubernetes secret volume needs
/// <c>defaultMode: 0400</c>, see docs/deployment.md). Windows ACLs are not checked.</para>
/// <para>Instances are immutable and may be used from any thread.</para>
/// </remarks>
public sealed class DtlsSecretFile
{
    /// <summary>The least cookie secret accepted here: 32 bytes (the library accepts 16; a fleet's secret should not be that short).</summary>
    public const int MinCookieSecretBytes = 32;

    /// <summary>The longest raw (binary) cookie secret file: 64 bytes; a longer secret is written as hex text.</summary>
    public const int MaxRawCookieSecretBytes = 64;

    /// <summary>The size of one session-ticket key: 16-byte name, 32-byte HMAC secret, 32-byte AES key.</summary>
    public const int TicketKeyBytes = 80;

    /// <summary>The most ticket keys one file may hold.</summary>
    public const int MaxTicketKeys = 16;

    /// <summary>Describes the file; nothing is read until <see cref="TryRead"/> or <see cref="Read"/>.</summary>
    /// <param name="option">The setting that named the file (for example <c>CookieSecretFile</c> or <c>--cookie-secret-file</c>); every error message starts with it.</param>
    /// <param name="path">The file's path.</param>
    /// <param name="kind">Which secret the file holds.</param>
    /// <exception cref="ArgumentException"><paramref name="option"/> or <paramref name="path"/> is null or empty, or <paramref name="kind"/> is not defined.</exception>
    public DtlsSecretFile(string option, string path, DtlsSecretKind kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(option);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentException($"Unknown secret kind {kind}.", nameof(kind));
        }

        Option = option;
        Path = path;
        Kind = kind;
    }

    /// <summary>The setting that named the file, as given.</summary>
    public string Option { get; }

    /// <summary>The file's path, as given.</summary>
    public string Path { get; }

    /// <summary>Which secret the file holds.</summary>
    public DtlsSecretKind Kind { get; }

    /// <summary>Reads and checks the file (mode, format, size) now.</summary>
    /// <param name="secret">The decoded secret when the file checks out.</param>
    /// <param name="problem">Otherwise what is wrong, starting with the option and the file, for example
    /// <c>CookieSecretFile '/etc/dtls/cookie' has mode 0644: group or others can access it; ...</c>.</param>
    /// <returns>True when the file checks out.</returns>
    public bool TryRead([NotNullWhen(true)] out byte[]? secret, [NotNullWhen(false)] out string? problem)
    {
        secret = null;
        byte[] content;
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                UnixFileMode mode = File.GetUnixFileMode(Path);
                const UnixFileMode groupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                    | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
                if ((mode & groupOrOthers) != 0)
                {
                    problem = $"{Option} '{Path}' has mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}: group or others can access it; a secret file must be the owner's only (chmod 600 '{Path}', or 0400; on a read-only mount set the mode where it is made, for example a Kubernetes secret volume's defaultMode: 0400; with fsGroup the file is group-readable and refused: docs/deployment.md, Kubernetes)";
                    return false;
                }
            }

            content = File.ReadAllBytes(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            problem = $"{Option} '{Path}' cannot be read: {e.Message}";
            return false;
        }

        byte[]? decoded = Decode(content, out bool raw, out string? formatProblem);
        formatProblem ??= decoded is null ? null : Kind switch
        {
            // A text file holding a 32-byte secret in hex is longer than 64 bytes: sizes that cannot be such a file.
            DtlsSecretKind.CookieSecret when raw && decoded.Length is < MinCookieSecretBytes or > MaxRawCookieSecretBytes =>
                $"{decoded.Length} bytes of raw (binary) content; a raw cookie secret is {MinCookieSecretBytes} to {MaxRawCookieSecretBytes} bytes (or write it as hex lines: openssl rand -hex 32)",
            DtlsSecretKind.CookieSecret when decoded.Length < MinCookieSecretBytes => $"{decoded.Length} bytes; at least {MinCookieSecretBytes} are needed (openssl rand -hex 32)",
            DtlsSecretKind.SessionTicketKeys when decoded.Length == 0 || decoded.Length % TicketKeyBytes != 0 =>
                $"{decoded.Length} bytes is not one or more {TicketKeyBytes}-byte keys (16-byte name, 32-byte HMAC secret, 32-byte AES key: openssl rand -hex 80)",
            DtlsSecretKind.SessionTicketKeys when decoded.Length / TicketKeyBytes > MaxTicketKeys => $"{decoded.Length / TicketKeyBytes} keys; at most {MaxTicketKeys}",
            _ => null,
        };
        if (formatProblem is not null)
        {
            problem = $"{Option} '{Path}': {formatProblem}";
            return false;
        }

        secret = decoded!;
        problem = null;
        return true;
    }

    /// <summary>Reads and checks the file (mode, format, size) now.</summary>
    /// <returns>The decoded secret.</returns>
    /// <exception cref="ArgumentException">The file cannot be read or does not check out; the message is <see cref="TryRead"/>'s problem and <see cref="ArgumentException.ParamName"/> is <see cref="Option"/>.</exception>
    public byte[] Read() => TryRead(out byte[]? secret, out string? problem) ? secret : throw new ArgumentException(problem, Option);

    /// <summary>What a log line may say about a secret read from this file: its size and a fingerprint (never the bytes), or the number of ticket keys and the newest key's name.</summary>
    /// <param name="secret">A secret <see cref="TryRead"/> returned.</param>
    /// <returns>For example <c>32 bytes, SHA-256 fingerprint 1A2B3C4D</c> or <c>2 key(s), newest named 00112233...</c>.</returns>
    public string Describe(ReadOnlySpan<byte> secret) => Kind == DtlsSecretKind.SessionTicketKeys && secret.Length >= 16
        ? $"{secret.Length / TicketKeyBytes} key(s), newest named {Convert.ToHexString(secret[..16])}"
        : $"{secret.Length} bytes, SHA-256 fingerprint {Convert.ToHexString(SHA256.HashData(secret)[..4])}";

    /// <inheritdoc/>
    public override string ToString() => $"{Option} '{Path}'";

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    private static byte[]? Decode(byte[] content, out bool raw, out string? problem)
    {
        problem = null;
        raw = false;
        ReadOnlySpan<byte> bytes = content;
        bool bom = bytes.StartsWith("\uFEFF"u8);
        if (bom)
        {
            bytes = bytes[3..]; // a UTF-8 byte order mark some editors write before text
        }

        string? text = AsText(bytes);
        if (text is null)
        {
            if (bom || LooksLikeText(bytes))
            {
                // Text damaged by a byte that is not UTF-8 (a Latin-1 comment) or a control character: never taken as raw.
                problem = $"the file looks like text but is not UTF-8 with only printable characters ({Offending(bytes)}); write the secret as hex lines";
                return null;
            }

            raw = true;
            return content; // raw: checked for its size by the caller
        }

        var decoded = new List<byte>();
        int number = 0;
        foreach (string textLine in text.Split('\n'))
        {
            number++;
            string line = textLine.Trim(' ', '\t', '\r');
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue; // comments may hold any UTF-8
            }

            if (line.StartsWith("base64:", StringComparison.Ordinal))
            {
                try
                {
                    decoded.AddRange(Convert.FromBase64String(line["base64:".Length..]));
                    continue;
                }
                catch (FormatException)
                {
                    problem = $"line {number} is not valid base64 after 'base64:'";
                    return null;
                }
            }

            int bad = line.AsSpan().IndexOfAnyExcept(HexDigits);
            if (bad >= 0)
            {
                problem = $"line {number}: '{line[bad]}' at column {bad + 1} is not a hex digit (a line is hex, 'base64:' and base64, or a '#' comment)";
                return null;
            }

            if (line.Length % 2 != 0)
            {
                problem = $"line {number}: an odd number of hex digits ({line.Length})";
                return null;
            }

            decoded.AddRange(Convert.FromHexString(line));
        }

        return [.. decoded];
    }

    /// <summary>The content as text when it is valid UTF-8 holding only printable characters, tabs and line ends; otherwise null.</summary>
    private static string? AsText(ReadOnlySpan<byte> bytes)
    {
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        foreach (char c in text)
        {
            if (char.IsControl(c) && c is not ('\n' or '\r' or '\t'))
            {
                return null;
            }
        }

        return text;
    }

    // Random bytes are printable ASCII (or a tab or line end) 98 times in 256; seven eighths or more is text with a
    // bad byte (32 random bytes get there with odds of about 1 in 10^8, and are then refused, never misread).
    private static bool LooksLikeText(ReadOnlySpan<byte> bytes)
    {
        int printable = 0;
        foreach (byte b in bytes)
        {
            printable += b is (>= 0x20 and < 0x7F) or (byte)'\n' or (byte)'\r' or (byte)'\t' ? 1 : 0;
        }

        return bytes.Length > 0 && printable * 8 >= bytes.Length * 7;
    }

    /// <summary>Where text stops being text: the first byte that is not UTF-8 or is a control character, with its line.</summary>
    private static string Offending(ReadOnlySpan<byte> bytes)
    {
        char[] scratch = new char[bytes.Length];
        int end = System.Text.Unicode.Utf8.ToUtf16(bytes, scratch, out int valid, out _, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done
            ? bytes.Length
            : valid;
        int at = end;
        for (int i = 0; i < end; i++)
        {
            if (bytes[i] is < 0x20 and not ((byte)'\n' or (byte)'\r' or (byte)'\t') or 0x7F)
            {
                at = i;
                break;
            }
        }

        int line = 1 + bytes[..Math.Min(at, bytes.Length)].Count((byte)'\n');
        return at < bytes.Length ? $"byte 0x{bytes[at]:X2} on line {line}" : "a control character";
    }
}
