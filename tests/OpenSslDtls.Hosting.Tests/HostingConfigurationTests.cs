using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;
using OpenSsl.Dtls.Hosting;
using OpenSslDtls.Samples.Tests;
using static OpenSslDtls.Hosting.Tests.HostingKit;

namespace OpenSslDtls.Hosting.Tests;

/// <summary>A bad configuration fails the host's start with an ArgumentException that names the option (and the value or path).</summary>
public sealed class HostingConfigurationTests
{
    private static readonly string Missing = Path.Combine(Path.GetTempPath(), $"does-not-exist-{Guid.NewGuid():N}", "server.key");

    private static IEnumerable<TestCaseData> BadSettings()
    {
        yield return Case("Endpoints", "not-an-address", ("Dtls:Endpoints:0:Address", "not-an-address"));
        yield return Case("Endpoints", "70000", ("Dtls:Endpoints:0:Port", "70000"));
        yield return Case("PrivateKeyFile", Missing, ("Dtls:Server:PrivateKeyFile", Missing));
        yield return Case("CertificateChainFile", Missing, ("Dtls:Server:CertificateChainFile", Missing));
        yield return Case("MaxSessions", "at least 1", ("Dtls:Listener:MaxSessions", "0"));
        yield return Case("IdleTimeout", "IdleTimeout", ("Dtls:Listener:IdleTimeout", "00:00:00"));
        yield return Case("Mtu", "Mtu", ("Dtls:Server:Mtu", "10"));
        yield return Case("PskKeys", "device-1", ("Dtls:PskKeys:device-1", "not-hex"));
        yield return Case("PskKeys", "device-1", ("Dtls:PskKeys:device-1", string.Concat(Enumerable.Repeat("00", 600))));
        yield return Case("PskKeysFile", Missing, ("Dtls:PskKeysFile", Missing));
        // Values that do not convert and keys that name no setting: the binder alone skips a list element
        // that does not convert and ignores unknown keys.
        foreach (string port in new[] { "abc", "4x33", "-", "1.5", "99999999999" })
        {
            yield return Case("Endpoints", "Dtls:Endpoints:0:Port", ("Dtls:Endpoints:0:Port", port));
        }

        yield return Case("Endpoints", "Adress", ("Dtls:Endpoints:0:Adress", "127.0.0.1"));
        yield return Case("Endpoints", "Prot", ("Dtls:Endpoints:0:Prot", "4433"));
        yield return Case("Endpoints", "Dtls:Endpoints:first", ("Dtls:Endpoints:first:Port", "4433"));
        yield return Case("Server", "MinimumProtocl", ("Dtls:Server:MinimumProtocl", "Dtls12"));
        yield return Case("Server", "Dtls:Server:MinimumProtocol", ("Dtls:Server:MinimumProtocol", "Dtls14"));
        yield return Case("Server", "Dtls:Server:Mtu", ("Dtls:Server:Mtu", "1400b"));
        yield return Case("Server", "Dtls:Server:HandshakeTimeout", ("Dtls:Server:HandshakeTimeout", "30s"));
        yield return Case("Server", "Dtls:Server:RequireClientCertificate", ("Dtls:Server:RequireClientCertificate", "yes"));
        yield return Case("Server", "PrivateKeyFle", ("Dtls:Server:PrivateKeyFle", "server.key"));
        yield return Case("Listener", "MaxSesions", ("Dtls:Listener:MaxSesions", "10"));
        yield return Case("Listener", "Dtls:Listener:MaxSessions", ("Dtls:Listener:MaxSessions", "ten"));
        yield return Case("Listener", "Dtls:Listener:IdleTimeout", ("Dtls:Listener:IdleTimeout", "5m"));
        yield return Case("Listener", "Dtls:Listener:ReceiveLoops", ("Dtls:Listener:ReceiveLoops", "2.0"));
        yield return Case("CookieSecretFle", "Dtls:CookieSecretFle", ("Dtls:CookieSecretFle", "/run/secrets/c"));
        yield return Case("Endpoint", "Dtls:Endpoint", ("Dtls:Endpoint:0:Port", "4433"));
    }

    [TestCase("abc")]
    [TestCase("4x33")]
    [TestCase("")]
    [CancelAfter(30_000)]
    public async Task A_bad_port_in_one_of_two_endpoints_fails_the_start_instead_of_dropping_it(string port)
    {
        Dictionary<string, string?> settings = CertificateSettings(TestPki.Shared);
        settings["Dtls:Endpoints:0:Port"] = port;
        settings["Dtls:Endpoints:1:Address"] = "127.0.0.1";
        settings["Dtls:Endpoints:1:Port"] = "0";
        using IHost host = Build(settings);

        Exception? failure = await CaptureAsync(() => host.StartAsync());

        AssertNamesSetting(failure, "Endpoints", "Dtls:Endpoints:0:Port");
        Assert.That(host.Services.GetDtlsListenerService().Listeners, Is.Empty);
    }

    [TestCaseSource(nameof(BadSettings))]
    [CancelAfter(30_000)]
    public async Task A_bad_setting_fails_the_start_naming_it(string setting, string mention, (string Key, string Value) change)
    {
        Dictionary<string, string?> settings = CertificateSettings(TestPki.Shared);
        settings[change.Key] = change.Value;
        using IHost host = Build(settings);

        Exception? failure = await CaptureAsync(() => host.StartAsync());

        AssertNamesSetting(failure, setting, mention);
        Assert.That(host.Services.GetDtlsListenerService().State, Is.EqualTo(DtlsListenerState.Failed));
        HealthReport health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Unhealthy));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task No_endpoint_fails_the_start_naming_Endpoints()
    {
        Dictionary<string, string?> settings = CertificateSettings(TestPki.Shared);
        settings.Remove("Dtls:Endpoints:0:Address");
        settings.Remove("Dtls:Endpoints:0:Port");
        using IHost host = Build(settings);
        AssertNamesSetting(await CaptureAsync(() => host.StartAsync()), "Endpoints", "at least one endpoint");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task No_session_handler_fails_the_start_saying_how_to_add_one()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddDtlsListener(o => o.Endpoints.Add(new DtlsListenEndpoint { Address = "127.0.0.1" }));
        using IHost host = builder.Build();
        Exception? failure = await CaptureAsync(() => host.StartAsync());
        Assert.That(failure, Is.TypeOf<InvalidOperationException>().And.Message.Contains("UseSessionHandler"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Keys_in_configuration_and_a_lookup_in_code_are_refused_together()
    {
        Dictionary<string, string?> settings = CertificateSettings(TestPki.Shared);
        settings["Dtls:PskKeys:device-1"] = "00112233";
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddDtlsListener(builder.Configuration.GetSection("Dtls"))
            .Configure(o => o.Server.PskKeyLookup = _ => null)
            .UseSessionHandler(EchoAsync);
        using IHost host = builder.Build();
        AssertNamesSetting(await CaptureAsync(() => host.StartAsync()), "PskKeys", "PskKeyLookup");
    }

    private static TestCaseData Case(string setting, string mention, (string Key, string Value) change) =>
        new TestCaseData(setting, mention, change).SetArgDisplayNames($"{change.Key}={(change.Value.Length > 20 ? change.Value[..20] + "..." : change.Value)}");

    private static async Task<Exception?> CaptureAsync(Func<Task> action)
    {
        try
        {
            await action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
