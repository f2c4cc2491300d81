using System.Net;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.CoapServer;

namespace OpenSslDtls.Samples.Tests.Coap;

/// <summary>
/// Datagrams no CoAP peer sends on purpose (format errors, stray empty messages), hand-built and
/// sent over DTLS to samples/CoapServer: a malformed CON is rejected with RST (RFC 7252 §4.2), the
/// rest is ignored, and the session keeps serving.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.None)]
public sealed class CoapServerMessageTests : CoapTestBase
{
    private const string Key = "hand-built-key";

    public static readonly object[] RejectedWithReset =
    [
        new object[] { "token length 9 (reserved)", new byte[] { 0x49, 0x01, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 9 } },
        new object[] { "empty message with a token", new byte[] { 0x41, 0x00, 0x00, 0x07, 0xAA } },
        new object[] { "payload marker without payload", new byte[] { 0x40, 0x01, 0x00, 0x07, 0xFF } },
        new object[] { "option delta 15 (reserved)", new byte[] { 0x40, 0x01, 0x00, 0x07, 0xF1, 0x61 } },
        new object[] { "option longer than the datagram", new byte[] { 0x40, 0x01, 0x00, 0x07, 0xB5, 0x61 } },
        new object[] { "CoAP ping (empty CON)", new byte[] { 0x40, 0x00, 0x00, 0x07 } },
        new object[] { "a response sent as CON", new byte[] { 0x40, 0x45, 0x00, 0x07 } },
    ];

    [TestCaseSource(nameof(RejectedWithReset))]
    public async Task A_malformed_or_empty_con_gets_rst_and_the_session_keeps_serving(string what, byte[] datagram)
    {
        (_, int port) = await StartCoapServerAsync("--psk", $"probe:{Hex(Key)}");
        using var timeout = new CancellationTokenSource(ExchangeTimeout);
        await using DtlsSession session = await ConnectAsync(port, timeout.Token);

        CoapMessage reply = await ExchangeAsync(session, datagram, timeout.Token);
        Assert.That((reply.Type, reply.Code, reply.MessageId, reply.Token.Length), Is.EqualTo((CoapType.Reset, CoapCode.Empty, (ushort)0x0007, 0)), what);

        await AssertStillServesAsync(session, timeout.Token);
    }

    [TestCase("empty ACK", new byte[] { 0x60, 0x00, 0x00, 0x09 })]
    [TestCase("empty RST", new byte[] { 0x70, 0x00, 0x00, 0x09 })]
    [TestCase("malformed NON", new byte[] { 0x59, 0x01, 0x00, 0x09 })]
    [TestCase("CoAP version 2", new byte[] { 0x80, 0x01, 0x00, 0x09 })]
    [TestCase("three bytes", new byte[] { 0x40, 0x01, 0x00 })]
    public async Task Stray_messages_get_no_answer(string what, byte[] datagram)
    {
        (_, int port) = await StartCoapServerAsync("--psk", $"probe:{Hex(Key)}");
        using var timeout = new CancellationTokenSource(ExchangeTimeout);
        await using DtlsSession session = await ConnectAsync(port, timeout.Token);

        // The next datagram back answers the valid request sent after the stray one: nothing came for the stray one.
        await session.SendAsync(datagram, timeout.Token);
        await AssertStillServesAsync(session, timeout.Token);
    }

    private static async Task<DtlsSession> ConnectAsync(int port, CancellationToken cancellationToken) =>
        await DtlsClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), new DtlsClientOptions
        {
            PskIdentity = "probe"u8.ToArray(),
            PskKey = Encoding.ASCII.GetBytes(Key),
        }, cancellationToken);

    private static async Task<CoapMessage> ExchangeAsync(DtlsSession session, byte[] datagram, CancellationToken cancellationToken)
    {
        await session.SendAsync(datagram, cancellationToken);
        byte[] buffer = new byte[2048];
        int received = await session.ReceiveAsync(buffer, cancellationToken);
        CoapMessage? reply = CoapMessage.TryParse(buffer.AsSpan(0, received), out string? error);
        Assert.That(reply, Is.Not.Null, error);
        return reply!;
    }

    private static async Task AssertStillServesAsync(DtlsSession session, CancellationToken cancellationToken)
    {
        var request = new CoapMessage(CoapType.Confirmable, CoapCode.Get, 0x0100, [0x42], [new CoapOption(CoapCode.UriPath, "hello"u8.ToArray())], []);
        CoapMessage reply = await ExchangeAsync(session, request.ToBytes(), cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That((reply.Type, reply.MessageId, reply.Token), Is.EqualTo((CoapType.Acknowledgement, (ushort)0x0100, new byte[] { 0x42 })));
            Assert.That(CoapCode.Format(reply.Code), Is.EqualTo("2.05"));
            Assert.That(Encoding.UTF8.GetString(reply.Payload), Is.EqualTo("Hello, probe!"));
        });
    }
}
