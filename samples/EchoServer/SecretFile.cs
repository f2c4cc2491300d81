using System.Security.Cryptography;
using System.Text;

namespace OpenSslDtls.Samples.EchoServer;

/// <summary>
/// The two fleet secret files (<c>--cookie-secret-file</c>, <c>--ticket-keys-file</c>; docs/deployment.md).
/// Format: either raw bytes, or text: lines of hex or base64, blank lines and lines starting with <c>#</c>
/// ignored, the decoded lines concatenated in order (a UTF-8 byte order mark is skipped). A file counts as
/// text when every byte is printable ASCII or white space (32 random bytes are all printable with odds of about 1 in 10^13). A file that
/// group or others may access (any of mode 077) is refused, like ssh refuses an open private key.
/// </summary>
internal sealed record SecretFile(string Option, string Path, SecretFileKind Kind)
{
    /// <summary>The cookie secret's least size here: 32 bytes (the library accepts 16, a fleet should not).</summary>
    public const int MinCookieSecret = 32;

    public const int TicketKeyLength = 80;

    /// <summary>Reads and checks the file; the bytes, or an error naming the option, the file and why.</summary>
    public byte[]? TryRead(out string? error)
    {
        error = null;
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
                    error = $"{Option} '{Path}' has mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}: group or others can access it; a secret file must be the owner's only (chmod 600 '{Path}')";
                    return null;
                }
            }

            content = File.ReadAllBytes(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"cannot read {Option} '{Path}': {e.Message}";
            return null;
        }

        byte[]? secret = Decode(content, out string? problem);
        problem ??= secret is null ? null : Kind switch
        {
            SecretFileKind.CookieSecret when secret.Length < MinCookieSecret => $"{secret.Length} bytes; at least {MinCookieSecret} are needed (openssl rand -hex 32)",
            SecretFileKind.TicketKeys when secret.Length == 0 || secret.Length % TicketKeyLength != 0 =>
                $"{secret.Length} bytes is not one or more {TicketKeyLength}-byte keys (16-byte name, 32-byte HMAC secret, 32-byte AES key: openssl rand -hex 80)",
            SecretFileKind.TicketKeys when secret.Length / TicketKeyLength > 16 => $"{secret.Length / TicketKeyLength} keys; at most 16",
            _ => null,
        };
        if (problem is not null)
        {
            error = $"{Option} '{Path}': {problem}";
            return null;
        }

        return secret;
    }

    /// <summary>What a log line may say about the secret: its size and a fingerprint (never the bytes), and the newest ticket key's name.</summary>
    public string Describe(byte[] secret) => Kind == SecretFileKind.TicketKeys
        ? $"{secret.Length / TicketKeyLength} key(s), newest named {Convert.ToHexString(secret, 0, 16)}"
        : $"{secret.Length} bytes, SHA-256 fingerprint {Convert.ToHexString(SHA256.HashData(secret), 0, 4)}";

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

/// <summary>Which secret a <see cref="SecretFile"/> holds.</summary>
internal enum SecretFileKind
{
    CookieSecret,
    TicketKeys,
}
