using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls.Hosting;
using OpenSslDtls.Samples.Tests;

namespace OpenSslDtls.Hosting.Tests;

/// <summary>
/// DtlsSecretFile's format (one implementation for CookieSecretFile/TicketKeysFile and EchoServer's flags): text is
/// strict (hex lines, '#' comments in any UTF-8, 'base64:' lines) and never guessed; raw is decided by a rule that
/// cannot take a damaged text file for raw bytes. Real files on disk, read through the public type.
/// </summary>
[UnsupportedOSPlatform("windows")] // file modes are POSIX
public sealed class SecretFileFormatTests
{
    private static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);

    private static readonly string Hex = Convert.ToHexString(Secret);

    // Characters a typo or a paste brings into a hex line; several are base64 digits, which once made it load as base64.
    private static readonly char[] Typos = ['g', 'G', 'o', 'O', 'l', 'z', '+', '/', '=', '-', ' ', ':', 'é', '\u00A0'];

    [Test]
    public void Every_one_character_typo_in_a_hex_cookie_secret_is_refused_naming_its_line_and_column()
    {
        var loaded = new List<string>();
        for (int column = 0; column < Hex.Length; column++)
        {
            foreach (char typo in Typos)
            {
                if (typo == ' ' && column is 0 or 63)
                {
                    continue; // a blank at an end of a line is trimmed: not a typo
                }

                string line = Hex[..column] + typo + Hex[(column + 1)..];
                (byte[]? secret, string? problem) = Read(DtlsSecretKind.CookieSecret, Encoding.UTF8.GetBytes($"# fleet cookie secret\n\n{line}\n"));
                if (secret is not null)
                {
                    loaded.Add($"{line}: {secret.Length} bytes");
                }
                else if (!problem!.Contains($"line 3: '{typo}' at column {column + 1} is not a hex digit", StringComparison.Ordinal))
                {
                    loaded.Add($"{line}: {problem}");
                }
            }
        }

        Assert.That(loaded, Is.Empty, "each typo is refused naming line 3 and its column");
    }

    [TestCase("# clé du cluster — rotated by ops ✓\n{0}\n", TestName = "a UTF-8 comment")]
    [TestCase("{0}\r\n", TestName = "CRLF")]
    [TestCase("\uFEFF{0}\n", TestName = "a byte order mark")]
    [TestCase("\uFEFF# comment\r\n{0}\r\n", TestName = "a byte order mark, a comment and CRLF")]
    [TestCase("  {0}\t\n", TestName = "blanks around the line")]
    [TestCase("{0}", TestName = "no final line end")]
    [TestCase("{1}\n\n# second half\n{2}\n", TestName = "split over lines, lower case")]
    [TestCase("base64:{3}\n", TestName = "a base64: line")]
    public void Text_forms_of_one_secret_load_the_same_bytes(string template)
    {
        string text = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, Hex, Hex[..20].ToLowerInvariant(), Hex[20..], Convert.ToBase64String(Secret));
        (byte[]? secret, string? problem) = Read(DtlsSecretKind.CookieSecret, Encoding.UTF8.GetBytes(text));
        Assert.That(secret, Is.EqualTo(Secret), problem);
    }

    [TestCase("{0}\n", "line 1: 'Z' at column 1", TestName = "a line of base64 without the prefix")]
    [TestCase("{1}\n", "line 1: an odd number of hex digits (63)", TestName = "an odd number of digits")]
    [TestCase("# ok\n{2} # comment\n", "line 2: ' ' at column 65", TestName = "a comment after the hex")]
    [TestCase("base64:{0}!\n", "line 1 is not valid base64", TestName = "bad base64 after the prefix")]
    public void Malformed_text_is_refused_naming_the_line(string template, string reason)
    {
        string text = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, "Z" + Convert.ToBase64String(Secret)[1..], Hex[..63], Hex);
        (byte[]? secret, string? problem) = Read(DtlsSecretKind.CookieSecret, Encoding.UTF8.GetBytes(text));
        Assert.That(secret, Is.Null, $"loaded {secret?.Length} bytes");
        Assert.That(problem, Does.Contain(reason));
    }

    [TestCase(0xE9)] // é in Latin-1
    [TestCase(0xA0)] // a Latin-1 no-break space
    [TestCase(0x00)]
    [TestCase(0x1B)]
    public void Text_with_one_byte_that_is_not_UTF8_or_printable_is_refused_not_read_as_raw(int bad)
    {
        foreach (bool inComment in new[] { true, false })
        {
            byte[] content = [.. Encoding.ASCII.GetBytes("# cookie secret\n# caf"), (byte)bad, .. Encoding.ASCII.GetBytes($"\n{Hex}\n")];
            if (!inComment)
            {
                content = [.. Encoding.ASCII.GetBytes($"# cookie secret\n{Hex[..10]}"), (byte)bad, .. Encoding.ASCII.GetBytes($"{Hex[10..]}\n")];
            }

            (byte[]? secret, string? problem) = Read(DtlsSecretKind.CookieSecret, content);
            Assert.That(secret, Is.Null, $"{(inComment ? "comment" : "hex line")}: loaded {secret?.Length} bytes");
            Assert.That(problem, Does.Contain($"byte 0x{bad:X2} on line 2"));
        }
    }

    [Test]
    public void Random_raw_secrets_of_the_accepted_sizes_load_as_they_are()
    {
        // 300 random files of each size: a raw secret is never taken for text nor refused as damaged text.
        foreach ((DtlsSecretKind kind, int size) in new[] { (DtlsSecretKind.CookieSecret, 32), (DtlsSecretKind.CookieSecret, 64), (DtlsSecretKind.SessionTicketKeys, 80), (DtlsSecretKind.SessionTicketKeys, 160) })
        {
            for (int i = 0; i < 300; i++)
            {
                byte[] raw = RandomNumberGenerator.GetBytes(size);
                (byte[]? secret, string? problem) = Read(kind, raw);
                Assert.That(secret, Is.EqualTo(raw), $"{kind} {size} bytes {Convert.ToHexString(raw)}: {problem}");
            }
        }
    }

    [TestCase(31)]
    [TestCase(65)]
    [TestCase(96)]
    public void A_raw_cookie_secret_outside_32_to_64_bytes_is_refused(int size)
    {
        (byte[]? secret, string? problem) = Read(DtlsSecretKind.CookieSecret, RandomNumberGenerator.GetBytes(size));
        Assert.That(secret, Is.Null);
        Assert.That(problem, Does.Contain($"{size} bytes of raw (binary) content; a raw cookie secret is 32 to 64 bytes"));
    }

    private static (byte[]? Secret, string? Problem) Read(DtlsSecretKind kind, byte[] content)
    {
        string directory = Path.Combine(Repository.Scratch, $"format-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "secret");
        File.WriteAllBytes(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            var file = new DtlsSecretFile("CookieSecretFile", path, kind);
            return file.TryRead(out byte[]? secret, out string? problem) ? (secret, null) : (null, problem);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
