using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Transport;

/// <summary>
/// Over a transport without <see cref="DtlsDatagramTransport.RemoteEndPoint"/>, every way a
/// handshake fails names the peer by the transport's kind, never by an empty string
/// ("handshake with  did not complete").
/// </summary>
[TestFixture]
public sealed class PeerNameTests : DtlsFixture
{
    public enum Failure
    {
        HandshakeTimeout,
        ReportedClosed,
        ReportedFailed,
        SendThrows,
    }

    [TestCase(Failure.HandshakeTimeout)]
    [TestCase(Failure.ReportedClosed)]
    [TestCase(Failure.ReportedFailed)]
    [TestCase(Failure.SendThrows)]
    [CancelAfter(30_000)]
    public async Task A_failed_handshake_over_a_transport_without_an_address_names_the_transport(Failure failure, CancellationToken cancellationToken)
    {
        using var clientContext = new DtlsContext(new DtlsClientOptions
        {
            InsecureSkipCertificateValidation = true,
            HandshakeTimeout = TimeSpan.FromSeconds(1),
            InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200),
        });
        (InMemoryDtlsTransport clientSide, InMemoryDtlsTransport serverSide) = InMemoryDtlsTransport.CreatePair();
        using (serverSide)
        {
            // Nobody answers: only the failure under test ends the handshake.
            clientSide.SendFilter = _ => failure == Failure.SendThrows ? throw new InvalidOperationException("tunnel down") : false;
            await using var client = new DtlsSession(clientContext, clientSide);
            Task connect = client.ConnectAsync(cancellationToken).AsTask();
            switch (failure)
            {
                case Failure.ReportedClosed:
                    clientSide.ReportClosed();
                    break;
                case Failure.ReportedFailed:
                    clientSide.ReportClosed(new IOException("ICE failed"));
                    break;
            }

            Exception? e = Assert.CatchAsync(async () => await connect);
            Assert.Multiple(() =>
            {
                Assert.That(e, failure == Failure.HandshakeTimeout ? Is.InstanceOf<TimeoutException>() : Is.InstanceOf<DtlsException>());
                Assert.That(e?.Message, Does.Contain("with the peer over InMemoryDtlsTransport"));
                Assert.That(e?.Message, Does.Not.Contain("  "), "no empty name between two spaces");
                Assert.That(e?.Message, Does.Not.Contain("with  ").And.Not.Contain("with ."));
            });
        }
    }
}
