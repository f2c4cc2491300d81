using System.Net;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// <see cref="DtlsListenerOptions"/> is a plain mutable object (a configuration binder fills a
/// parameterless one), and <see cref="DtlsListener.Listen"/> copies it and its server options
/// (docs/architecture.md, options are snapshotted), as QuicListener does with QuicListenerOptions.
/// </summary>
public class ListenerOptionsSnapshotTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Changing_the_options_after_Listen_changes_nothing(CancellationToken ct)
    {
        byte[] cookieSecret = new byte[32];
        DtlsListenerOptions options = Options(maxSessions: 1);
        options.CookieSecret = cookieSecret;
        await using DtlsListener listener = DtlsListener.Listen(options);
        await using EchoServer echo = EchoServer.Start(listener);

        // Each of these would let the second client in, or stop the first, if the listener read them now.
        options.MaxSessions = 100;
        options.MaxPendingHandshakes = 100;
        options.IdleTimeout = TimeSpan.FromMilliseconds(1);
        options.MaxDatagramSize = 256;
        options.MaxQueuedDatagramsPerSession = 1;
        options.LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 1);
        options.ServerOptions.Certificate = null;
        options.ServerOptions.RequireClientCertificate = true;
        options.ServerOptions = new DtlsServerOptions();
        cookieSecret.AsSpan().Fill(0x55);

        using DtlsContext clientContext = ClientContext();
        using DtlsContext impatient = ClientContext(TimeSpan.FromSeconds(1.5));
        using Client first = await ConnectAsync(listener, clientContext, ct);
        byte[] large = new byte[1000];
        Random.Shared.NextBytes(large);
        await EchoAsync(first.Session, large, ct);

        Assert.That(async () => await ConnectAsync(listener, impatient, ct), Throws.InstanceOf<TimeoutException>(), "MaxSessions is still 1");
        Assert.That(listener.Statistics.RefusedOverSessionLimit, Is.GreaterThanOrEqualTo(1));
        await EchoAsync(first.Session, [1, 2, 3], ct);
        Assert.That(listener.Statistics.IdleSessionsReaped, Is.Zero, "IdleTimeout is still 5 minutes");
    }

    [Test]
    [CancelAfter(10_000)]
    public void A_parameterless_options_object_is_refused_at_Listen_naming_what_is_missing()
    {
        Assert.That(() => DtlsListener.Listen(new DtlsListenerOptions()),
            Throws.InstanceOf<ArgumentException>().With.Property(nameof(ArgumentException.ParamName)).EqualTo(nameof(DtlsListenerOptions.LocalEndPoint))
                .And.Message.Contains("LocalEndPoint is required"));
        Assert.That(() => DtlsListener.Listen(new DtlsListenerOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) }),
            Throws.InstanceOf<ArgumentException>().With.Property(nameof(ArgumentException.ParamName)).EqualTo(nameof(DtlsListenerOptions.ServerOptions)));
    }
}
