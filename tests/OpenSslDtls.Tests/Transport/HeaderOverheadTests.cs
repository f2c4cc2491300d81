using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Transport;

/// <summary>
/// <see cref="DtlsDatagramTransport.HeaderOverhead"/> is checked when the session is created: one
/// below 0, above <see cref="DtlsDatagramTransport.MaximumHeaderOverhead"/> (OpenSSL's unsigned minimum
/// MTU: larger ones failed every handshake without an error) or leaving less than
/// <see cref="DtlsDatagramTransport.MinimumDatagramPayload"/> bytes of the Mtu is refused with an <see cref="ArgumentOutOfRangeException"/> naming it; every value in range
/// gives a session whose datagrams stay within Mtu minus it.
/// </summary>
[TestFixture]
public sealed class HeaderOverheadTests : DtlsFixture
{
    [TestCase(1200, int.MinValue)]
    [TestCase(1200, -100)]
    [TestCase(1200, -1)]
    [TestCase(1200, 256)]
    [TestCase(1200, 993)]
    [TestCase(1200, 5000)]
    [TestCase(1200, int.MaxValue)]
    [TestCase(256, 49)]
    [TestCase(462, 255)]
    public void An_overhead_out_of_range_is_refused_at_session_creation_naming_HeaderOverhead(int mtu, int overhead)
    {
        using var context = new DtlsContext(new DtlsClientOptions { InsecureSkipCertificateValidation = true, Mtu = mtu });
        var transport = new OverheadTransport(overhead);
        ArgumentOutOfRangeException? e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new DtlsSession(context, transport));
        Assert.Multiple(() =>
        {
            Assert.That(e?.ParamName, Is.EqualTo(nameof(DtlsDatagramTransport.HeaderOverhead)));
            Assert.That(e?.ActualValue, Is.EqualTo(overhead));
            Assert.That(e?.Message, Does.Contain($"between 0 and {Math.Min(mtu - DtlsDatagramTransport.MinimumDatagramPayload, DtlsDatagramTransport.MaximumHeaderOverhead)} bytes").And.Contain(nameof(OverheadTransport)));
            Assert.That(transport.IsClosed, Is.True, "the failed session disposed the transport it was given");
        });
    }

    [TestCase(1200, 0)]
    [TestCase(1200, 28)]
    [TestCase(1200, 48)]
    [TestCase(1200, 255)]
    [TestCase(256, 0)]
    [TestCase(256, 48)]
    [TestCase(576, 255)]
    [TestCase(463, 255)]
    [CancelAfter(30_000)]
    public async Task An_overhead_in_range_is_used_for_every_datagram(int mtu, int overhead, CancellationToken cancellationToken)
    {
        using var context = new DtlsContext(new DtlsClientOptions
        {
            InsecureSkipCertificateValidation = true,
            Mtu = mtu,
            HandshakeTimeout = TimeSpan.FromMilliseconds(500),
        });
        var transport = new OverheadTransport(overhead);
        await using var client = new DtlsSession(context, transport);
        Assert.ThrowsAsync<TimeoutException>(async () => await client.ConnectAsync(cancellationToken), "nobody answers");
        Assert.Multiple(() =>
        {
            Assert.That(client.MaxDatagramPayload, Is.LessThanOrEqualTo(mtu - overhead));
            Assert.That(transport.Largest, Is.InRange(13, mtu - overhead), "the ClientHello within Mtu minus the overhead");
        });
    }

    /// <summary>A transport written by an application with its own header overhead; it answers nothing.</summary>
    private sealed class OverheadTransport(int overhead) : DtlsDatagramTransport
    {
        private int _largest;

        public override int HeaderOverhead => overhead;

        public int Largest => Volatile.Read(ref _largest);

        public override void Send(ReadOnlySpan<byte> datagram) => Volatile.Write(ref _largest, Math.Max(Largest, datagram.Length));
    }
}
