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

    /// <summary>Parses <c>IDENTITY:HEXKEY</c> (the key 1 to 64 bytes of hex, as in the native peers).</summary>
    public static bool TryParsePsk(string text, out string identity, out byte[] key, out string? error)
    {
        identity = string.Empty;
        key = [];
        error = null;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = $"invalid --psk '{text}' (expected IDENTITY:HEXKEY)";
            return false;
        }

        identity = text[..colon];
        string hex = text[(colon + 1)..];
        try
        {
            key = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            key = [];
        }

        if (key.Length is 0 or > 64)
        {
            error = $"invalid --psk key '{hex}' (expected 1..64 bytes of hex)";
            return false;
        }

        return true;
    }

    /// <summary>Splits <c>P1,P2</c> into ALPN protocol names.</summary>
    public static string[] ParseAlpn(string? text) =>
        text is null ? [] : text.Split(',', StringSplitOptions.TrimEntries);

    private static string OneLine(string message) =>
        message.ReplaceLineEndings(" ").Trim();
}
