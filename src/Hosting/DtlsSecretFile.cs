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
/// <para>Format: either raw bytes, or text: lines of hex or base64, blank lines and lines starting with <c>#</c>
/// ignored, the decoded lines concatenated in order (a UTF-8 byte order mark is skipped). A file counts as
/// text when every byte is printable ASCII or white space (32 random bytes are all printable with odds of
/// about 1 in 10^13).</para>
/// <para>A cookie secret holds at least <see cref="MinCookieSecretBytes"/> bytes. Ticket keys are one or more
/// (at most <see cref="MaxTicketKeys"/>) <see cref="TicketKeyBytes"/>-byte keys, newest first, each a 16-byte
/// name, a 32-byte HMAC secret and a 32-byte AES key (<c>openssl rand -hex 80</c>).</para>
/// <para>On Unix a file that group or others may access (any bit of mode 077) is refused, as ssh refuses an
/// open private key; make it the owner's only (<c>chmod 600</c>). Windows ACLs are not checked.</para>
/// <para>Instances are immutable and may be used from any thread.</para>
/// </remarks>
public sealed class DtlsSecretFile
{
    /// <summary>The least cookie secret accepted here: 32 bytes (the library accepts 16; a fleet's secret should not be that short).</summary>
    public const int MinCookieSecretBytes = 32;

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
                    problem = $"{Option} '{Path}' has mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}: group or others can access it; a secret file must be the owner's only (chmod 600 '{Path}')";
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

        byte[]? decoded = Decode(content, out string? formatProblem);
        formatProblem ??= decoded is null ? null : Kind switch
        {
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

    private static byte[]? Decode(byte[] content, out string? problem)
    {
        problem = null;
        if (content.AsSpan().StartsWith("\uFEFF"u8))
        {
            content = content[3..]; // a UTF-8 byte order mark some editors write before text
        }

        if (!content.All(b => b is (>= 0x20 and < 0x7F) or (byte)'\n' or (byte)'\r' or (byte)'\t'))
        {
            return content;
        }

        var decoded = new List<byte>();
        int number = 0;
        foreach (string raw in Encoding.ASCII.GetString(content).Split('\n'))
        {
            number++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            try
            {
                decoded.AddRange(line.All(Uri.IsHexDigit) && line.Length % 2 == 0 ? Convert.FromHexString(line) : Convert.FromBase64String(line));
            }
            catch (FormatException)
            {
                problem = $"line {number} is neither hex nor base64";
                return null;
            }
        }

        return [.. decoded];
    }
}
