using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using OpenSslDtls.Samples.Tests;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// Rotating a fleet's shared secrets on a running listener (issue 15): the cookie secret
/// (<see cref="DtlsListener.UpdateCookieSecret"/>), proven with hand-built ClientHellos, and the
/// session-ticket keys (<see cref="DtlsListener.UpdateSessionTicketKeys"/>), proven with openssl s_client's
/// saved sessions: the replaced secret keeps working for one rotation and is gone after the next.
/// </summary>
public class SecretRotationTests
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(30);

    [Test]
    [CancelAfter(30_000)]
    public async Task A_cookie_verifies_after_one_secret_rotation_and_not_after_two(CancellationToken ct)
    {
        byte[][] secrets = [.. Enumerable.Range(0, 3).Select(_ => RandomNumberGenerator.GetBytes(32))];
        await using DtlsListener listener = DtlsListener.Listen(WithSecret(secrets[0]));
        byte[] hello = await RawDtls.ClientHelloAsync();
        // One socket per cookie: a cookie binds its address and port, and a verified one starts a handshake.
        using Socket beforeFirst = RawSocket();
        using Socket beforeFirstLate = RawSocket();
        using Socket afterFirst = RawSocket();
        byte[] cookieBeforeFirst = await RawDtls.GetCookieAsync(beforeFirst, listener.LocalEndPoint, ct);
        byte[] cookieBeforeFirstLate = await RawDtls.GetCookieAsync(beforeFirstLate, listener.LocalEndPoint, ct);

        listener.UpdateCookieSecret(secrets[1]);
        Assert.That(await SendHelloAsync(beforeFirst, cookieBeforeFirst), Is.EqualTo(RawDtls.HandshakeServerHello), "a cookie of the replaced secret verifies for one rotation");
        byte[] cookieAfterFirst = await RawDtls.GetCookieAsync(afterFirst, listener.LocalEndPoint, ct);
        await using (DtlsListener fleetMate = DtlsListener.Listen(WithSecret(secrets[1])))
        {
            // The new cookie is the new secret's: a listener started with it accepts it.
            Assert.That(await SendHelloAsync(afterFirst, cookieAfterFirst, fleetMate), Is.EqualTo(RawDtls.HandshakeServerHello), "new cookies come from the new secret");
        }

        listener.UpdateCookieSecret(secrets[2]);
        Assert.That(await SendHelloAsync(beforeFirstLate, cookieBeforeFirstLate), Is.EqualTo(RawDtls.HandshakeHelloVerifyRequest), "two rotations later the first secret is gone");
        using Socket afterFirstAgain = RawSocket();
        byte[] secondSecretCookie = await RawDtls.GetCookieAsync(afterFirstAgain, listener.LocalEndPoint, ct);
        Assert.That(secondSecretCookie, Is.Not.EqualTo(cookieAfterFirst));

        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That((stats.CookiesVerified, stats.CookiesRejected), Is.EqualTo((1L, 1L)), stats.ToString());

        async Task<byte> SendHelloAsync(Socket socket, byte[] cookie, DtlsListener? to = null)
        {
            await socket.SendToAsync(RawDtls.WithCookie(hello, cookie), (to ?? listener).LocalEndPoint, ct);
            byte[]? reply = await ReceiveAsync(socket, TimeSpan.FromSeconds(5), ct);
            Assert.That(reply, Is.Not.Null, "the listener answered");
            return RawDtls.IsHandshake(reply, RawDtls.HandshakeServerHello) ? RawDtls.HandshakeServerHello
                : RawDtls.IsHandshake(reply, RawDtls.HandshakeHelloVerifyRequest) ? RawDtls.HandshakeHelloVerifyRequest
                : reply![13];
        }
    }

    [Test]
    public async Task A_cookie_secret_shorter_than_16_bytes_is_refused_and_the_same_secret_again_changes_nothing()
    {
        byte[] secret = RandomNumberGenerator.GetBytes(32);
        await using DtlsListener listener = DtlsListener.Listen(WithSecret(secret));
        ArgumentException? e = Assert.Throws<ArgumentException>(() => listener.UpdateCookieSecret(new byte[15]));
        Assert.That(e!.ParamName, Is.EqualTo("secret"));
        listener.UpdateCookieSecret(secret);
        await listener.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => listener.UpdateCookieSecret(secret));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Openssl_s_client_tickets_resume_after_one_key_rotation_are_renewed_under_the_new_key_and_fail_after_two(CancellationToken ct)
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        byte[][] keys = [.. Enumerable.Range(0, 3).Select(_ => RandomNumberGenerator.GetBytes(80))];
        await using DtlsListener listener = DtlsListener.Listen(Options(TicketServerOptions(keys[0])));
        await using EchoServer echo = EchoServer.Start(listener);
        string first = PeerCredentials.NewFile("k0.session");
        string second = PeerCredentials.NewFile("k1.session");

        string output = await RunClientAsync("-sess_out", first);
        Assert.That(output, Does.Contain("New, TLSv1.2"));
        Assert.That(TicketKeyName(output), Is.EqualTo(Name(keys[0])), "the ticket names the key it was encrypted with");

        listener.UpdateSessionTicketKeys(keys[1]);
        listener.UpdateSessionTicketKeys(keys[1]); // the same keys again (a file rewritten unchanged) must not retire keys[0]
        output = await RunClientAsync("-sess_in", first);
        Assert.That(output, Does.Contain("Reused, TLSv1.2"), "a ticket of the replaced key resumes");
        Assert.That(TicketKeyName(output), Is.EqualTo(Name(keys[1])), "and is renewed under the new key (the callback returned 2)");
        Assert.That(await RunClientAsync("-sess_out", second), Does.Contain("New, TLSv1.2"));
        Assert.That(echo.Resumed, Is.EqualTo(1));

        listener.UpdateSessionTicketKeys(keys[2]);
        output = await RunClientAsync("-sess_in", first);
        Assert.That(output, Does.Contain("New, TLSv1.2"), "two rotations later the first key is gone: a full handshake");
        Assert.That(TicketKeyName(output), Is.EqualTo(Name(keys[2])), "with a new ticket under the newest key");
        Assert.That(await RunClientAsync("-sess_in", second), Does.Contain("Reused, TLSv1.2"), "a ticket of the key replaced once still resumes");
        Assert.That((echo.Accepted, echo.Resumed), Is.EqualTo((5, 2)));

        Task<string> RunClientAsync(params string[] session) => RunSClientAsync(openssl, listener, session);

    }

    /// <summary>
    /// A certificate renewal (<see cref="DtlsListener.UpdateServerOptions"/>) keeps s_client's ticket
    /// resuming, whatever the ticket keys: OpenSSL's own random keys (carried over), the same configured
    /// keys, or new keys in the renewed options (the replaced ones keep decrypting for one rotation, and
    /// the resumed client gets a ticket under the new key).
    /// </summary>
    [Test]
    [CancelAfter(120_000)]
    public async Task Openssl_s_client_ticket_resumes_across_a_certificate_renewal([Values("random keys", "same keys", "new keys")] string keys, CancellationToken ct)
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        byte[]? before = keys == "random keys" ? null : RandomNumberGenerator.GetBytes(80);
        byte[]? after = keys == "new keys" ? RandomNumberGenerator.GetBytes(80) : before;
        await using DtlsListener listener = DtlsListener.Listen(Options(TicketServerOptions(before)));
        await using EchoServer echo = EchoServer.Start(listener);
        string session = PeerCredentials.NewFile("renewal.session");

        string output = await RunSClientAsync(openssl, listener, "-sess_out", session);
        Assert.That(output, Does.Contain("New, TLSv1.2"));
        string issuedUnder = TicketKeyName(output);

        DtlsServerOptions renewed = TicketServerOptions(after);
        renewed.Certificate = CreateCertificate(Host);
        listener.UpdateServerOptions(renewed);

        output = await RunSClientAsync(openssl, listener, "-sess_in", session);
        Assert.That(output, Does.Contain("Reused, TLSv1.2"), "the ticket issued before the renewal resumes after it");
        Assert.That(TicketKeyName(output), Is.EqualTo(after is null ? issuedUnder : Name(after)), "the renewed ticket is under the renewed options' key");
        Assert.That((echo.Accepted, echo.Resumed), Is.EqualTo((2, 1)));
    }

    /// <summary>Runs one openssl s_client connection (optionally -sess_out/-sess_in FILE), echoes a line through it, and returns its output.</summary>
    private static async Task<string> RunSClientAsync(string openssl, DtlsListener listener, params string[] session)
    {
        await using PeerProcess peer = PeerProcess.Start(openssl, ["s_client", "-dtls1_2", "-connect", listener.LocalEndPoint.ToString(), "-CAfile", PeerCredentials.ServerCertificateFile, "-verify_return_error", .. session]);
        return await peer.EchoLineAndCloseAsync($"rotation-{Guid.NewGuid():N}", PeerTimeout);
    }

    private static string TicketKeyName(string output) => FirstTicketBytes(output) ?? throw new AssertionException($"s_client printed no ticket\n{output}");

    [Test]
    public async Task Ticket_keys_are_validated_and_need_keys_at_creation()
    {
        await using DtlsListener withKeys = DtlsListener.Listen(Options(TicketServerOptions(RandomNumberGenerator.GetBytes(160))));
        foreach (int length in new[] { 0, 79, 81, 159, 17 * 80 })
        {
            ArgumentException? e = Assert.Throws<ArgumentException>(() => withKeys.UpdateSessionTicketKeys(new byte[length]), $"{length} bytes");
            Assert.That(e!.ParamName, Is.EqualTo("keys"));
        }

        byte[] sameName = RandomNumberGenerator.GetBytes(160);
        sameName.AsSpan(0, 16).CopyTo(sameName.AsSpan(80));
        Assert.Throws<ArgumentException>(() => withKeys.UpdateSessionTicketKeys(sameName), "two keys with one name");
        withKeys.UpdateSessionTicketKeys(RandomNumberGenerator.GetBytes(16 * 80));

        await using DtlsListener withoutKeys = DtlsListener.Listen(Options(TicketServerOptions(null)));
        InvalidOperationException? missing = Assert.Throws<InvalidOperationException>(() => withoutKeys.UpdateSessionTicketKeys(RandomNumberGenerator.GetBytes(80)));
        Assert.That(missing!.Message, Does.Contain("SessionTicketKeys"));

        ArgumentException? atCreation = Assert.Throws<ArgumentException>(() => new DtlsContext(TicketServerOptions(new byte[100])).Dispose());
        Assert.That(atCreation!.ParamName, Is.EqualTo(nameof(DtlsServerOptions.SessionTicketKeys)));
    }

    private static DtlsListenerOptions WithSecret(byte[] secret)
    {
        DtlsListenerOptions template = Options();
        return new()
        {
            LocalEndPoint = template.LocalEndPoint,
            ServerOptions = template.ServerOptions,
            CookieSecret = secret,
        };
    }

    private static DtlsServerOptions TicketServerOptions(byte[]? keys) => new()
    {
        Certificate = Certificate,
        HandshakeTimeout = TimeSpan.FromSeconds(20),
        // Tickets only: a session-ID cache would resume without the ticket keys.
        SessionCacheSize = 0,
        EnableSessionTickets = true,
        SessionTicketKeys = keys,
    };

    private static string Name(byte[] key) => Convert.ToHexString(key, 0, 16);

    /// <summary>The first 16 bytes of "TLS session ticket:" in s_client's SSL-Session block (its hex dump's first row): the key name.</summary>
    private static string? FirstTicketBytes(string text)
    {
        string[] lines = text.Split('\n');
        int at = Array.FindIndex(lines, l => l.Contains("TLS session ticket:", StringComparison.Ordinal));
        if (at < 0 || at + 1 >= lines.Length)
        {
            return null;
        }

        string row = lines[at + 1].Trim();
        if (!row.StartsWith("0000 - ", StringComparison.Ordinal))
        {
            return null;
        }

        string[] bytes = row[7..].Replace('-', ' ').Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(16).ToArray();
        return string.Concat(bytes).ToUpper(CultureInfo.InvariantCulture);
    }
}
