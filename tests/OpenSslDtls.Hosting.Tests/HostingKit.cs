using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSsl.Dtls.Hosting;
using OpenSslDtls.Samples.Tests;

namespace OpenSslDtls.Hosting.Tests;

/// <summary>Hosts built in the test from an in-memory configuration, and s_client as the third-party peer.</summary>
internal static class HostingKit
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    /// <summary>A listener on 127.0.0.1 with a free port and the test PKI's server certificate, as configuration keys.</summary>
    public static Dictionary<string, string?> CertificateSettings(TestPki pki) => new()
    {
        ["Dtls:Endpoints:0:Address"] = "127.0.0.1",
        ["Dtls:Endpoints:0:Port"] = "0",
        ["Dtls:Server:CertificateChainFile"] = pki.ServerCertificateFile,
        ["Dtls:Server:PrivateKeyFile"] = pki.ServerKeyFile,
    };

    /// <summary>A Generic Host with the default listener bound from <paramref name="settings"/>'s "Dtls" section, a handler and the health check.</summary>
    public static IHost Build(IDictionary<string, string?> settings, Func<DtlsSession, CancellationToken, Task>? handler = null, TimeSpan? shutdownTimeout = null, Action<IServiceCollection>? services = null)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddDtlsListener(builder.Configuration.GetSection("Dtls")).UseSessionHandler(handler ?? EchoAsync);
        builder.Services.AddHealthChecks().AddDtlsListener();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout ?? Bound);
        services?.Invoke(builder.Services);
        return builder.Build();
    }

    /// <summary>Echoes every datagram until close_notify.</summary>
    public static async Task EchoAsync(DtlsSession session, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[16384];
        int n;
        while ((n = await session.ReceiveAsync(buffer, cancellationToken)) > 0)
        {
            await session.SendAsync(buffer.AsMemory(0, n), cancellationToken);
        }
    }

    public static int Port(IHost host) => host.Services.GetDtlsListenerService().Listeners[0].LocalEndPoint.Port;

    /// <summary>A line of random hex: what s_client sends as one datagram, to find again in its output.</summary>
    public static string Payload(string tag) => $"{tag}-{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12))}";

    /// <summary>Sends <paramref name="payload"/> through s_client (one line, one datagram) and waits for the same line to come back.</summary>
    public static async Task EchoThroughAsync(PeerProcess client, string payload)
    {
        client.Write(payload + "\n");
        await client.WaitUntilAsync(p => p.StandardOutput.Split('\n').Any(l => l.TrimEnd('\r') == payload), Bound, $"the echo of '{payload}' on s_client's stdout");
    }

    /// <summary>Waits for s_client's handshake to finish (it prints the negotiated cipher).</summary>
    public static Task HandshakeDoneAsync(PeerProcess client) =>
        client.WaitUntilAsync(p => p.StandardOutput.Contains("Cipher is", StringComparison.Ordinal), Bound, "s_client finished its handshake");

    public static void AssertNamesSetting(Exception? e, string setting, params string[] mentions)
    {
        Assert.That(e, Is.InstanceOf<ArgumentException>(), e?.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(((ArgumentException)e!).ParamName, Is.EqualTo(setting));
            Assert.That(e.Message, Does.StartWith(setting));
            foreach (string mention in mentions)
            {
                Assert.That(e.Message, Does.Contain(mention));
            }
        });
    }
}
