using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSsl.Dtls.Hosting;
using OpenSslDtls.Listener.Tests.Support;
using OpenSslDtls.Samples.Tests;
using static OpenSslDtls.Hosting.Tests.HostingKit;

namespace OpenSslDtls.Hosting.Tests;

/// <summary>
/// The hosting options <c>CookieSecretFile</c> and <c>TicketKeysFile</c> (issue 15): bound from configuration,
/// read at start (a file group or others can access fails the start naming the option), and rotated while the
/// host runs, proven with openssl s_client's saved sessions and with hand-built ClientHellos carrying cookies.
/// </summary>
[UnsupportedOSPlatform("windows")] // file modes are POSIX; the check runs only there
public sealed partial class SecretFileOptionsTests : PeerProcessTestBase
{
    private static string OpenSsl => ExternalTool.Require("openssl", "openssl");

    [Test]
    [CancelAfter(120_000)]
    public async Task A_secret_file_group_or_others_can_access_fails_the_start_naming_the_option_the_file_and_its_mode(
        [Values("CookieSecretFile", "TicketKeysFile")] string option,
        [Values(0b110_100_000, 0b110_000_100, 0b110_010_000, 0b110_000_010, 0b110_100_100)] int mode)
    {
        string file = WriteSecretFile(Path.Combine(NewDirectory(), "secret"), Convert.ToHexString(RandomNumberGenerator.GetBytes(80)) + "\n");
        File.SetUnixFileMode(file, (UnixFileMode)mode);
        Dictionary<string, string?> settings = CertificateSettings(Pki);
        settings[$"Dtls:{option}"] = file;
        using IHost host = Build(settings);

        Exception? failure = await CaptureAsync(host.StartAsync);

        AssertNamesSetting(failure, option, $"{option} '{file}' has mode 0{Convert.ToString(mode, 8)}", "chmod 600", "or 0400", "defaultMode: 0400", "docs/deployment.md");
        Assert.That(host.Services.GetDtlsListenerService().State, Is.EqualTo(DtlsListenerState.Failed));
    }

    [TestCase("CookieSecretFile", "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEE", null, "31 bytes; at least 32")]
    [TestCase("TicketKeysFile", "00", null, "1 bytes is not one or more 80-byte keys")]
    [TestCase("TicketKeysFile", "not hex, not base64!", null, "line 1: 'n' at column 1 is not a hex digit")]
    [TestCase("TicketKeysFile", "ticket key", "Dtls:Server:EnableSessionTickets", "needs session tickets")]
    [TestCase("TicketKeysFile", "ticket key", "SessionTicketKeys in code", "SessionTicketKeys is set too; use one")]
    [TestCase("CookieSecretFile", "cookie secret", "CookieSecret in code", "CookieSecret is set too; use one")]
    [CancelAfter(60_000)]
    public async Task A_malformed_or_conflicting_secret_file_fails_the_start_saying_why(string option, string content, string? conflict, string reason)
    {
        content = content switch
        {
            "ticket key" => Convert.ToHexString(RandomNumberGenerator.GetBytes(80)),
            "cookie secret" => Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
            _ => content,
        };
        string file = WriteSecretFile(Path.Combine(NewDirectory(), "secret"), content + "\n");
        Dictionary<string, string?> settings = CertificateSettings(Pki);
        settings[$"Dtls:{option}"] = file;
        if (conflict == "Dtls:Server:EnableSessionTickets")
        {
            settings[conflict] = "false";
        }

        // The byte secrets are not bound from configuration (ReadOnlyMemory<byte>); code sets them.
        using IHost host = Build(settings, services: s => s.Configure<DtlsHostedListenerOptions>(o =>
        {
            if (conflict == "CookieSecret in code")
            {
                o.Listener.CookieSecret = RandomNumberGenerator.GetBytes(32);
            }
            else if (conflict == "SessionTicketKeys in code")
            {
                o.Server.SessionTicketKeys = RandomNumberGenerator.GetBytes(80);
            }
        }));
        AssertNamesSetting(await CaptureAsync(host.StartAsync), option, reason);
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task Ticket_keys_from_configuration_rotate_while_running_a_ticket_resumes_after_one_rotation_and_not_after_two()
    {
        byte[][] keys = [.. Enumerable.Range(0, 3).Select(_ => RandomNumberGenerator.GetBytes(80))];
        byte[] cookie = RandomNumberGenerator.GetBytes(32);
        string directory = NewDirectory();
        string cookieFile = WriteSecretFile(Path.Combine(directory, "cookie.secret"), Convert.ToHexString(cookie) + "\n");
        string ticketFile = WriteSecretFile(Path.Combine(directory, "ticket.keys"), "# newest first\n" + Convert.ToHexString(keys[0]) + "\n");
        Dictionary<string, string?> settings = CertificateSettings(Pki);
        settings["Dtls:CookieSecretFile"] = cookieFile;
        settings["Dtls:TicketKeysFile"] = ticketFile;
        var logs = new LogCapture();
        using IHost host = Build(settings, services: s => s.AddSingleton<ILoggerProvider>(logs));

        DtlsHostedListenerOptions bound = host.Services.GetRequiredService<IOptionsMonitor<DtlsHostedListenerOptions>>().Get(Options.DefaultName);
        Assert.That((bound.CookieSecretFile, bound.TicketKeysFile), Is.EqualTo((cookieFile, ticketFile)), "both bound from configuration");
        await host.StartAsync();
        Assert.That(logs.Messages, Has.Some.Contains($"CookieSecretFile '{cookieFile}' loaded: 32 bytes, SHA-256 fingerprint {Convert.ToHexString(SHA256.HashData(cookie), 0, 4)}"));
        Assert.That(logs.Messages, Has.Some.Contains($"TicketKeysFile '{ticketFile}' loaded: 1 key(s), newest named {Name(keys[0])}"));
        int port = Port(host);
        string session = Path.Combine(directory, "s_client.session");

        string output = await RunSClientAsync(port, "-sess_out", session);
        Assert.That((output.Contains("New, TLSv1.2", StringComparison.Ordinal), TicketKeyName(output)), Is.EqualTo((true, Name(keys[0]))), "the first ticket is issued under the file's key\n" + output);

        await RotateAsync(keys[1], 1);
        output = await RunSClientAsync(port, "-sess_in", session);
        Assert.That(output, Does.Contain("Reused, TLSv1.2"), "the ticket of the replaced key resumes after one rotation\n" + output);
        Assert.That(TicketKeyName(output), Is.EqualTo(Name(keys[1])), "and is renewed under the new key");

        await RotateAsync(keys[2], 2);
        output = await RunSClientAsync(port, "-sess_in", session);
        Assert.That(output, Does.Contain("New, TLSv1.2"), "two rotations later the first key is gone: a full handshake\n" + output);

        // A rewrite that does not check out is logged once and skipped; the keys in force stay.
        File.SetUnixFileMode(ticketFile, (UnixFileMode)0b110_100_100);
        await logs.WaitForAsync(m => m.Any(l => l.Contains("secret file change ignored", StringComparison.Ordinal) && l.Contains("has mode 0644", StringComparison.Ordinal)), Bound, "the refused mode");
        Assert.That(TicketKeyName(await RunSClientAsync(port)), Is.EqualTo(Name(keys[2])));
        Assert.That(logs.Count("secret file change ignored"), Is.EqualTo(1), string.Join('\n', logs.Messages));

        // Put right (the same keys): the recovery is logged, and the same fault later is logged again.
        foreach (int round in new[] { 1, 2 })
        {
            File.SetUnixFileMode(ticketFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            await logs.WaitForAsync(_ => logs.Count($"TicketKeysFile '{ticketFile}' checks out again") == round, Bound, $"the recovery {round}");
            Assert.That(logs.Messages.Last(m => m.Contains("checks out again", StringComparison.Ordinal)), Does.Contain($"newest named {Name(keys[2])}").And.Contain("applied again"));
            File.SetUnixFileMode(ticketFile, (UnixFileMode)0b110_100_100);
            await logs.WaitForAsync(_ => logs.Count("secret file change ignored") == round + 1, Bound, $"the refused mode again {round}");
        }

        Assert.That(logs.Count("' reloaded: "), Is.EqualTo(2), "going back to the keys in force is no reload");
        await host.StopAsync();

        async Task RotateAsync(byte[] key, int reloads)
        {
            WriteSecretFile(ticketFile, Convert.ToHexString(key) + "\n");
            await logs.WaitForAsync(_ => logs.Count($"TicketKeysFile '{ticketFile}' reloaded: 1 key(s), newest named {Name(key)}") == 1 && logs.Count("' reloaded: ") == reloads, Bound, $"reload {reloads}");
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_cookie_secret_from_configuration_rotates_while_running_a_cookie_verifies_after_one_rotation_and_not_after_two()
    {
        byte[][] secrets = [.. Enumerable.Range(0, 3).Select(_ => RandomNumberGenerator.GetBytes(32))];
        string cookieFile = WriteSecretFile(Path.Combine(NewDirectory(), "cookie.secret"), "base64:" + Convert.ToBase64String(secrets[0]) + "\n");
        Dictionary<string, string?> settings = CertificateSettings(Pki);
        settings["Dtls:CookieSecretFile"] = cookieFile;
        var logs = new LogCapture();
        using IHost host = Build(settings, services: s => s.AddSingleton<ILoggerProvider>(logs));
        await host.StartAsync();
        DtlsListener listener = host.Services.GetDtlsListenerService().Listeners[0];
        byte[] hello = await RawDtls.ClientHelloAsync();
        // One socket per cookie: a cookie binds the client's address and port, and a verified one starts a handshake.
        using Socket fromFile = ListenerTestKit.RawSocket();
        using Socket oneRotationLater = ListenerTestKit.RawSocket();
        using Socket twoRotationsLater = ListenerTestKit.RawSocket();
        byte[] cookieFromFile = await RawDtls.GetCookieAsync(fromFile, listener.LocalEndPoint, CancellationToken.None, hello);
        byte[] cookieOne = await RawDtls.GetCookieAsync(oneRotationLater, listener.LocalEndPoint, CancellationToken.None, hello);
        byte[] cookieTwo = await RawDtls.GetCookieAsync(twoRotationsLater, listener.LocalEndPoint, CancellationToken.None, hello);
        await using (DtlsListener fleetMate = DtlsListener.Listen(new DtlsListenerOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), ServerOptions = ListenerTestKit.ServerOptions(), CookieSecret = secrets[0] }))
        {
            Assert.That(await SendHelloAsync(fromFile, cookieFromFile, fleetMate), Is.EqualTo(RawDtls.HandshakeServerHello), "the cookies come from the file's secret: another listener with it verifies them");
        }

        await RotateAsync(secrets[1], 1);
        Assert.That(await SendHelloAsync(oneRotationLater, cookieOne, listener), Is.EqualTo(RawDtls.HandshakeServerHello), "a cookie of the replaced secret verifies for one rotation");
        await RotateAsync(secrets[2], 2);
        Assert.That(await SendHelloAsync(twoRotationsLater, cookieTwo, listener), Is.EqualTo(RawDtls.HandshakeHelloVerifyRequest), "two rotations later the first secret is gone");

        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That((stats.CookiesVerified, stats.CookiesRejected), Is.EqualTo((1L, 1L)), stats.ToString());
        await host.StopAsync();

        async Task RotateAsync(byte[] secret, int reloads)
        {
            WriteSecretFile(cookieFile, Convert.ToHexString(secret) + "\n");
            string expected = $"CookieSecretFile '{cookieFile}' reloaded: 32 bytes, SHA-256 fingerprint {Convert.ToHexString(SHA256.HashData(secret), 0, 4)}";
            await logs.WaitForAsync(_ => logs.Count(expected) == 1 && logs.Count("' reloaded: ") == reloads, Bound, $"reload {reloads}");
        }

        async Task<byte> SendHelloAsync(Socket socket, byte[] cookie, DtlsListener to)
        {
            await socket.SendToAsync(RawDtls.WithCookie(hello, cookie), to.LocalEndPoint);
            byte[]? reply = await ListenerTestKit.ReceiveAsync(socket, TimeSpan.FromSeconds(5), CancellationToken.None);
            Assert.That(reply, Is.Not.Null, "the listener answered");
            return RawDtls.IsHandshake(reply, RawDtls.HandshakeServerHello) ? RawDtls.HandshakeServerHello
                : RawDtls.IsHandshake(reply, RawDtls.HandshakeHelloVerifyRequest) ? RawDtls.HandshakeHelloVerifyRequest
                : reply![13];
        }
    }

    /// <summary>A full s_client run: handshake, one echoed line, end of input; its stdout (with the SSL-Session block).</summary>
    private async Task<string> RunSClientAsync(int port, params string[] arguments)
    {
        PeerProcess client = Start(OpenSsl, ["s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "-CAfile", Pki.CaFile, "-verify_return_error", .. arguments]);
        await HandshakeDoneAsync(client);
        await EchoThroughAsync(client, Payload("secret"));
        client.CloseInput();
        await client.WaitForExitAsync(Bound);
        return client.StandardOutput;
    }

    private static string Name(byte[] key) => Convert.ToHexString(key, 0, 16);

    /// <summary>The ticket's key name: the first 16 bytes of the hex dump under "TLS session ticket:".</summary>
    private static string TicketKeyName(string output)
    {
        Match dump = TicketDump().Match(output);
        Assert.That(dump.Success, $"s_client printed a ticket\n{output}");
        return string.Concat(HexByte().Matches(dump.Groups[1].Value).Take(16).Select(m => m.Value)).ToUpperInvariant();
    }

    [GeneratedRegex(@"TLS session ticket:\s*\n\s*0000 - ([0-9a-f -]+)")]
    private static partial Regex TicketDump();

    [GeneratedRegex("[0-9a-f]{2}")]
    private static partial Regex HexByte();

    private static string NewDirectory()
    {
        string directory = Path.Combine(Repository.Scratch, $"secrets-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>Writes an owner-only file and renames it over <paramref name="path"/>, as a secret manager would.</summary>
    private static string WriteSecretFile(string path, string content)
    {
        string temporary = path + ".new";
        File.WriteAllText(temporary, content);
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    private static async Task<Exception?> CaptureAsync(Func<CancellationToken, Task> start)
    {
        try
        {
            await start(CancellationToken.None);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
