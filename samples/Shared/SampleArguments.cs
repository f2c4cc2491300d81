using System.CommandLine;
using System.Globalization;

namespace OpenSslDtls.Samples;

/// <summary>
/// Command-line plumbing both samples share. Exit codes follow the native reference peers
/// (native/README.md): 0 success, 1 runtime failure, 2 bad arguments or unreadable files.
/// </summary>
internal static class SampleArguments
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    /// <summary>Writes one <c>error: ...</c> line to stderr and returns <paramref name="exitCode"/>.</summary>
    public static int Fail(int exitCode, string message)
    {
        Console.Error.WriteLine($"error: {OneLine(message)}");
        return exitCode;
    }

    /// <summary>
    /// Runs the parsed command. An OpenSSL that cannot be loaded (PlatformNotSupportedException, whose
    /// message lists the files probed and how to point the library elsewhere) is one <c>error:</c> line
    /// and exit code 1, not a crash.
    /// </summary>
    public static async Task<int> InvokeAsync(ParseResult parseResult, InvocationConfiguration configuration)
    {
        try
        {
            return await parseResult.InvokeAsync(configuration).ConfigureAwait(false);
        }
        catch (PlatformNotSupportedException e)
        {
            return Fail(Failure, e.Message);
        }
    }

    /// <summary>The first parse error as one line, exit code 2; System.CommandLine would print help text and exit 1.</summary>
    public static int ReportParseErrors(ParseResult result) =>
        Fail(Usage, $"{result.Errors[0].Message} (see --help)");

    /// <summary>Parses an integer in <paramref name="min"/>..<paramref name="max"/>; anything else is a parse error naming the option.</summary>
    public static Option<int> InRange(this Option<int> option, int min, int max)
    {
        option.CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max)
            {
                return value;
            }

            result.AddError(string.Create(CultureInfo.InvariantCulture, $"invalid value for {option.Name}: '{text}' (expected {min}..{max})"));
            return default;
        };
        return option;
    }

    /// <summary>Null if <paramref name="path"/> is absent or readable; otherwise why not, naming the option.</summary>
    public static string? CheckReadable(string option, string? path)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            using FileStream stream = File.OpenRead(path);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return $"cannot read {option} '{path}': {e.Message}";
        }
    }

    /// <summary>
    /// Parses <c>IDENTITY:HEXKEY</c> (the key 1 to 64 bytes of hex, as in the native peers). IDENTITY is
    /// text sent as UTF-8, or <c>hex:BYTES</c> for an identity given as hex bytes (any byte values).
    /// </summary>
    public static bool TryParsePsk(string text, out byte[] identity, out byte[] key, out string? error)
    {
        identity = [];
        key = [];
        error = null;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = $"invalid --psk '{text}' (expected IDENTITY:HEXKEY or hex:IDENTITYHEX:HEXKEY)";
            return false;
        }

        string identityText = text[..colon];
        string hex = text[(colon + 1)..];
        if (identityText.StartsWith("hex:", StringComparison.Ordinal))
        {
            if (!TryParseHex(identityText["hex:".Length..], out identity) || identity.Length == 0)
            {
                error = $"invalid --psk identity '{identityText}' (expected hex:BYTES, an even number of hex digits)";
                return false;
            }
        }
        else
        {
            identity = System.Text.Encoding.UTF8.GetBytes(identityText);
        }

        if (!TryParseHex(hex, out key) || key.Length is 0 or > 64)
        {
            error = $"invalid --psk key '{hex}' (expected 1..64 bytes of hex)";
            return false;
        }

        return true;
    }

    /// <summary>How the samples print an identity: as text if it is printable ASCII (and not "hex:..."), else <c>hex:BYTES</c>.</summary>
    public static string FormatIdentity(ReadOnlySpan<byte> identity)
    {
        bool printable = !identity.StartsWith("hex:"u8) && !identity.IsEmpty;
        foreach (byte b in identity)
        {
            printable &= b is > 0x20 and < 0x7F;
        }

        return printable ? System.Text.Encoding.ASCII.GetString(identity) : "hex:" + Convert.ToHexStringLower(identity);
    }

    /// <summary>The line both samples print for a DTLS-SRTP session: <c>srtp PROFILE CLIENT_KEY CLIENT_SALT SERVER_KEY SERVER_SALT</c> (lower-case hex).</summary>
    public static string SrtpLine(OpenSsl.Dtls.DtlsSrtpKeys keys) =>
        $"srtp {keys.Profile} {Convert.ToHexStringLower(keys.ClientKey)} {Convert.ToHexStringLower(keys.ClientSalt)} {Convert.ToHexStringLower(keys.ServerKey)} {Convert.ToHexStringLower(keys.ServerSalt)}";

    /// <summary>Splits an SRTP profile list (<c>P1:P2</c> as in OpenSSL, or <c>P1,P2</c>).</summary>
    public static string[] ParseSrtp(string? text) =>
        text is null ? [] : text.Split([':', ','], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>A key-log sink appending NSS key log lines (SSLKEYLOGFILE format) to <paramref name="path"/>; null without a path.</summary>
    public static Action<string>? KeyLogTo(string? path)
    {
        if (path is null)
        {
            return null;
        }

        var gate = new Lock();
        return line =>
        {
            lock (gate)
            {
                File.AppendAllText(path, line + "\n");
            }
        };
    }

    private static bool TryParseHex(string hex, out byte[] bytes)
    {
        try
        {
            bytes = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }

    /// <summary>Splits <c>P1,P2</c> into ALPN protocol names.</summary>
    public static string[] ParseAlpn(string? text) =>
        text is null ? [] : text.Split(',', StringSplitOptions.TrimEntries);

    private static string OneLine(string message) =>
        message.ReplaceLineEndings(" ").Trim();
}
