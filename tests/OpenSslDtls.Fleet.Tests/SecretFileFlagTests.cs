using System.Globalization;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSslDtls.Samples.Tests.Fleet.Support;

namespace OpenSslDtls.Samples.Tests.Fleet;

/// <summary>
/// EchoServer's <c>--cookie-secret-file</c> and <c>--ticket-keys-file</c>: the formats, the refusal of files
/// open to group or others, and rotation without a restart, proven with openssl s_client's tickets.
/// </summary>
[UnsupportedOSPlatform("windows")] // file modes are POSIX; EchoServer checks them only there
public class SecretFileFlagTests : FleetTestBase
{
    [Test]
    [CancelAfter(120_000)]
    public async Task A_secret_file_that_group_or_others_can_access_is_refused_naming_the_file_and_its_mode(
        [Values("--cookie-secret-file", "--ticket-keys-file")] string option,
        [Values(0b110_100_000, 0b110_000_100, 0b110_010_000, 0b110_000_010, 0b110_100_100)] int mode)
    {
        string file = WriteSecretFile(Path.Combine(NewDirectory("mode"), "secret"), Convert.ToHexString(RandomNumberGenerator.GetBytes(80)) + "\n");
        File.SetUnixFileMode(file, (UnixFileMode)mode);
        string octal = "0" + Convert.ToString(mode, 8);

        PeerProcess server = Start("dotnet", EchoServerDll, "--port", "0", option, file);
        Assert.That(await server.WaitForExitAsync(PeerTimeout), Is.EqualTo(2), server.Report());
        Assert.That(server.StandardError, Does.Contain($"{option} '{file}' has mode {octal}").And.Contain("chmod 600").And.Contain("defaultMode: 0400"), server.Report());
        Assert.That(server.StandardOutput, Does.Not.Contain("listening on"));
    }

    [TestCase("--cookie-secret-file", "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEE", "31 bytes; at least 32")]
    [TestCase("--ticket-keys-file", "00", "1 bytes is not one or more 80-byte keys")]
    [TestCase("--ticket-keys-file", "not hex, not base64!", "line 1: 'n' at column 1 is not a hex digit")]
    [CancelAfter(60_000)]
    public async Task Malformed_secret_files_are_refused_saying_why(string option, string content, string reason)
    {
        string file = WriteSecretFile(Path.Combine(NewDirectory("bad"), "secret"), content + "\n");
        PeerProcess server = Start("dotnet", EchoServerDll, "--port", "0", option, file);
        Assert.That(await server.WaitForExitAsync(PeerTimeout), Is.EqualTo(2), server.Report());
        Assert.That(server.StandardError, Does.Contain($"{option} '{file}': {reason}"), server.Report());
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Ticket_keys_with_no_tickets_is_refused()
    {
        (_, string tickets) = NewSecrets(NewDirectory("no-tickets"));
        PeerProcess server = Start("dotnet", EchoServerDll, "--port", "0", "--ticket-keys-file", tickets, "--no-tickets");
        Assert.That(await server.WaitForExitAsync(PeerTimeout), Is.EqualTo(2), server.Report());
        Assert.That(server.StandardError, Does.Contain("--ticket-keys-file needs session tickets; remove --no-tickets"), server.Report());
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Raw_hex_base64_and_byte_order_marked_files_of_one_secret_load_the_same_secret()
    {
        byte[] secret = RandomNumberGenerator.GetBytes(48);
        string directory = NewDirectory("formats");
        string raw = Path.Combine(directory, "raw");
        await File.WriteAllBytesAsync(raw, secret);
        File.SetUnixFileMode(raw, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string[] files =
        [
            raw,
            WriteSecretFile(Path.Combine(directory, "hex"), "# cookie secret\n" + Convert.ToHexString(secret.AsSpan(0, 20)) + "\n" + Convert.ToHexString(secret.AsSpan(20)).ToLowerInvariant() + "\n"),
            WriteSecretFile(Path.Combine(directory, "base64"), "base64:" + Convert.ToBase64String(secret) + "\n"),
            WriteSecretFile(Path.Combine(directory, "bom-hex"), "\uFEFF" + Convert.ToHexString(secret) + "\r\n"),
        ];

        string expected = $"48 bytes, SHA-256 fingerprint {Convert.ToHexString(SHA256.HashData(secret), 0, 4)}";
        foreach (string file in files)
        {
            EchoInstance instance = await StartInstanceAsync("--cookie-secret-file", file);
            Assert.That(instance.Process.StandardError, Does.Contain($"'{file}' loaded: {expected}"), instance.Process.Report());
            await StopAsync(instance);
        }
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task Rewritten_ticket_keys_are_picked_up_without_a_restart_and_the_replaced_key_resumes_for_one_rotation()
    {
        byte[][] keys = [.. Enumerable.Range(0, 3).Select(_ => RandomNumberGenerator.GetBytes(80))];
        string directory = NewDirectory("rotation");
        (string cookie, _) = NewSecrets(directory);
        string ticketFile = WriteSecretFile(Path.Combine(directory, "ticket.keys"), Convert.ToHexString(keys[0]) + "\n");
        EchoInstance server = await StartInstanceAsync("--cookie-secret-file", cookie, "--ticket-keys-file", ticketFile);
        string session = Path.Combine(directory, "s_client.session");

        string output = await RunSClientAsync(server.Port, "-sess_out", session);
        Assert.That((output.Contains("New, TLSv1.2", StringComparison.Ordinal), TicketKeyName(output)), Is.EqualTo((true, Name(keys[0]))), output);

        await RotateAsync(keys[1], 1);
        output = await RunSClientAsync(server.Port, "-sess_in", session);
        Assert.That(output, Does.Contain("Reused, TLSv1.2"), "the ticket of the replaced key resumes after one rotation");
        Assert.That(TicketKeyName(output), Is.EqualTo(Name(keys[1])), "and is renewed under the new key");

        await RotateAsync(keys[2], 2);
        output = await RunSClientAsync(server.Port, "-sess_in", session);
        Assert.That(output, Does.Contain("New, TLSv1.2"), "two rotations later the first key is gone: a full handshake");

        // A rewrite that does not check out is logged (once, not at every poll) and skipped; the keys in force stay.
        WriteSecretFile(ticketFile, "00\n");
        await server.Process.WaitUntilAsync(p => p.StandardError.Contains("secret file change ignored", StringComparison.Ordinal), PeerTimeout, "the warning about the bad rewrite");
        Assert.That(TicketKeyName(await RunSClientAsync(server.Port)), Is.EqualTo(Name(keys[2])));
        Assert.That(CountOf(server.Process.StandardError, "secret file change ignored"), Is.EqualTo(1), server.Process.Report());

        async Task RotateAsync(byte[] key, int reloads)
        {
            WriteSecretFile(ticketFile, Convert.ToHexString(key) + "\n");
            await server.Process.WaitUntilAsync(p => CountOf(p.StandardError, "reloaded: 1 key(s), newest named " + Name(key)) == 1 && CountOf(p.StandardError, "' reloaded: ") == reloads, PeerTimeout, $"reload {reloads}");
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_rewritten_cookie_secret_is_picked_up_without_a_restart()
    {
        string directory = NewDirectory("cookie-rotation");
        (string cookie, string tickets) = NewSecrets(directory);
        EchoInstance server = await StartInstanceAsync("--cookie-secret-file", cookie, "--ticket-keys-file", tickets);
        byte[] next = RandomNumberGenerator.GetBytes(32);
        WriteSecretFile(cookie, "base64:" + Convert.ToBase64String(next) + "\n");
        string expected = $"--cookie-secret-file '{cookie}' reloaded: 32 bytes, SHA-256 fingerprint {Convert.ToHexString(SHA256.HashData(next), 0, 4)}";
        await server.Process.WaitUntilAsync(p => p.StandardError.Contains(expected, StringComparison.Ordinal), PeerTimeout, "the reload");
        Assert.That(await RunSClientAsync(server.Port), Does.Contain("Verification: OK"), "handshakes (cookie exchange included) go on under the new secret");
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, string.Empty, StringComparison.Ordinal).Length) / part.Length;

    private static string Name(byte[] key) => Convert.ToHexString(key, 0, 16);

    /// <summary>The ticket's key name: the first row of "TLS session ticket:" in s_client's SSL-Session block.</summary>
    private static string TicketKeyName(string output)
    {
        string[] lines = output.Split('\n');
        int at = Array.FindIndex(lines, l => l.Contains("TLS session ticket:", StringComparison.Ordinal));
        string row = at >= 0 && at + 1 < lines.Length ? lines[at + 1].Trim() : string.Empty;
        Assert.That(row, Does.StartWith("0000 - "), $"s_client printed a ticket\n{output}");
        return string.Concat(row[7..].Replace('-', ' ').Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(16)).ToUpper(CultureInfo.InvariantCulture);
    }
}
