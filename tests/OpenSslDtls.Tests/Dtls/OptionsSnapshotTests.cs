using System.Reflection;
using System.Text;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>
/// Options are plain mutable objects (so configuration binding can fill them) and a context copies them
/// when it is created (docs/architecture.md, options are snapshotted): changing the options object, or a
/// list it was given, after creation changes nothing, as with SslServerAuthenticationOptions.
/// </summary>
public sealed class OptionsSnapshotTests : DtlsFixture
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Changing_options_and_their_lists_after_creation_changes_no_handshake(CancellationToken cancellationToken)
    {
        (string certificate, string key) = DtlsTestCertificates.WritePem(DtlsTestCertificates.Server);
        List<string> serverProtocols = ["coap", "h2"];
        var serverOptions = new DtlsServerOptions { CertificateChainFile = certificate, PrivateKeyFile = key, ApplicationProtocols = serverProtocols };
        List<string> clientProtocols = ["coap"];
        var clientOptions = new DtlsClientOptions { CaFile = DtlsTestCertificates.CaFile, TargetHost = DtlsTestCertificates.Host, ApplicationProtocols = clientProtocols };
        using var serverContext = new DtlsContext(serverOptions);
        using var clientContext = new DtlsContext(clientOptions);

        // Every one of these would fail the handshake (or change its outcome) if a context read them now.
        string missing = Path.Combine(DtlsTestCertificates.Directory, "does-not-exist.pem");
        serverOptions.CertificateChainFile = missing;
        serverOptions.PrivateKeyFile = missing;
        serverOptions.RequireClientCertificate = true;
        serverOptions.CipherList = "PSK-AES128-CCM8";
        serverOptions.HandshakeTimeout = TimeSpan.FromTicks(1);
        serverProtocols.Clear();
        clientOptions.TargetHost = "elsewhere.example";
        clientOptions.CaFile = missing;
        clientOptions.PinnedCertificateSha256 = [new string('0', 64)];
        clientOptions.MinimumProtocol = DtlsProtocolVersion.Dtls13;
        clientOptions.Mtu = 256;
        clientProtocols[0] = "zzz";
        // The copy a context hands out is the application's to change too.
        ((DtlsClientOptions)clientContext.Options).TargetHost = "elsewhere.example";
        ((DtlsServerOptions)serverContext.Options).RequireClientCertificate = true;

        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);
        byte[] payload = Encoding.UTF8.GetBytes("snapshot");
        byte[] echoed = await pair.EchoAsync(payload, cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(echoed, Is.EqualTo(payload));
            Assert.That(pair.Client.NegotiatedApplicationProtocol, Is.EqualTo("coap"));
            Assert.That(pair.Client.NegotiatedProtocol, Is.EqualTo(DtlsProtocolVersion.Dtls12));
            Assert.That(pair.Client.MaxDatagramPayload, Is.GreaterThan(1000), "the Mtu at creation (1200), not 256");
        });
    }

    /// <summary>
    /// Sweeps every public settable option (those added later too): after the context exists, the option
    /// is given another value on the original object and on the copy from <see cref="DtlsContext.Options"/>;
    /// the context's options must still read as they did.
    /// </summary>
    [TestCase(typeof(DtlsServerOptions))]
    [TestCase(typeof(DtlsClientOptions))]
    public void Every_option_is_copied_at_creation(Type optionsType)
    {
        byte[] secret = new byte[80]; // ticket keys or PSK: a buffer the application keeps and overwrites in place
        DtlsOptions options = optionsType == typeof(DtlsServerOptions)
            ? new DtlsServerOptions { Certificate = DtlsTestCertificates.Server, ApplicationProtocols = new List<string> { "coap" }, SessionTicketKeys = secret }
            : new DtlsClientOptions { TargetHost = "localhost", ApplicationProtocols = new List<string> { "coap" }, PskIdentity = new byte[] { 1, 2 }, PskKey = secret.AsMemory(0, 16) };
        using DtlsContext context = optionsType == typeof(DtlsServerOptions) ? new DtlsContext((DtlsServerOptions)options) : new DtlsContext((DtlsClientOptions)options);
        PropertyInfo[] properties = [.. optionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite)];
        Dictionary<string, string> before = properties.ToDictionary(p => p.Name, p => Describe(p.GetValue(context.Options)));
        secret.AsSpan().Fill(0xAA);
        foreach (PropertyInfo property in properties)
        {
            // A list the application keeps and changes in place.
            if (property.GetValue(options) is List<string> list)
            {
                list.Add("changed");
            }

            property.SetValue(options, Different(property, property.GetValue(options)));
            DtlsOptions copy = context.Options;
            property.SetValue(copy, Different(property, property.GetValue(copy)));
        }

        Assert.Multiple(() =>
        {
            Assert.That(properties, Has.Length.GreaterThan(20));
            foreach (PropertyInfo property in properties)
            {
                Assert.That(Describe(property.GetValue(context.Options)), Is.EqualTo(before[property.Name]), property.Name);
            }
        });
    }

    [TestCase(nameof(DtlsOptions.ApplicationProtocols))]
    [TestCase(nameof(DtlsOptions.SrtpProfiles))]
    [TestCase(nameof(DtlsOptions.PinnedCertificateSha256))]
    [TestCase(nameof(DtlsOptions.TrustedCertificates))]
    [TestCase(nameof(DtlsOptions.CertificateChain))]
    public void A_list_set_to_null_is_refused_naming_it(string setting)
    {
        var options = new DtlsServerOptions { Certificate = DtlsTestCertificates.Server };
        typeof(DtlsOptions).GetProperty(setting)!.SetValue(options, null);
        ArgumentException? e = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => new DtlsContext(options).Dispose()) as ArgumentException;
        Assert.That(e!.ParamName, Is.EqualTo(setting));
    }

    // A value unlike the current one, for any option type (reference types the test does not know become null).
    private static object? Different(PropertyInfo property, object? current)
    {
        Type type = property.PropertyType;
        Type? underlying = Nullable.GetUnderlyingType(type);
        return (underlying ?? type) switch
        {
            Type t when t == typeof(bool) => !(bool)(current ?? false),
            Type t when t == typeof(int) => (int)current! + 7,
            Type t when t == typeof(long) => (long)current! + 7,
            Type t when t == typeof(TimeSpan) => (TimeSpan)(current ?? TimeSpan.Zero) + TimeSpan.FromSeconds(7),
            Type t when t == typeof(string) => "changed",
            Type t when t == typeof(DtlsProtocolVersion) => current is DtlsProtocolVersion.Dtls13 ? DtlsProtocolVersion.Dtls12 : DtlsProtocolVersion.Dtls13,
            Type t when t == typeof(ReadOnlyMemory<byte>) => new ReadOnlyMemory<byte>([9, 9, 9]),
            Type t when t == typeof(IReadOnlyList<string>) => new List<string> { "changed" },
            Type t when t == typeof(IReadOnlyList<System.Security.Cryptography.X509Certificates.X509Certificate2>) => new[] { DtlsTestCertificates.Ca },
            Type t when t.IsEnum => Enum.GetValues(t).Cast<object>().First(v => !v.Equals(current)),
            Type t when !t.IsValueType => null,
            _ => throw new InvalidOperationException($"teach this test a different value for {property.Name} ({type})"),
        };
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string s => s,
        ReadOnlyMemory<byte> m => Convert.ToHexString(m.Span),
        byte[] b => Convert.ToHexString(b),
        System.Collections.IEnumerable items => "[" + string.Join(",", items.Cast<object?>().Select(Describe)) + "]",
        _ => value.ToString() ?? string.Empty,
    };
}
