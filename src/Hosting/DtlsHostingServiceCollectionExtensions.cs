using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace OpenSsl.Dtls.Hosting;

/// <summary>Registers hosted DTLS listeners in a service collection (a Generic Host's <c>builder.Services</c>).</summary>
public static class DtlsHostingServiceCollectionExtensions
{
    /// <summary>Adds the default (unnamed) listener with options bound from <paramref name="configuration"/> (see <see cref="DtlsHostedListenerOptions"/> for the keys).</summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The section, for example <c>builder.Configuration.GetSection("Dtls")</c>.</param>
    /// <returns>A builder for the session handler and more options.</returns>
    public static DtlsListenerBuilder AddDtlsListener(this IServiceCollection services, IConfiguration configuration) =>
        AddDtlsListener(services, Options.DefaultName, configuration);

    /// <summary>Adds a named listener with options bound from <paramref name="configuration"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The listener's name: several listeners may run in one host, each with its own options and handler.</param>
    /// <param name="configuration">The section its options are bound from; bound when the service starts (reloads afterwards are not applied). Strictly: a key that names no setting, or a value that does not convert (an endpoint's <c>Port=4x33</c> included), fails the start with an <see cref="ArgumentException"/> naming the key.</param>
    /// <returns>A builder for the session handler and more options.</returns>
    public static DtlsListenerBuilder AddDtlsListener(this IServiceCollection services, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        DtlsListenerBuilder builder = Register(services, name);
        // Strict: an unknown key or a value that does not convert fails the start naming the key (DtlsConfigurationBinding).
        services.AddOptions<DtlsHostedListenerOptions>(name).Configure(options => DtlsConfigurationBinding.Bind(configuration, options));
        return builder;
    }

    /// <summary>Adds the default (unnamed) listener configured in code.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Fills the options.</param>
    /// <returns>A builder for the session handler and more options.</returns>
    public static DtlsListenerBuilder AddDtlsListener(this IServiceCollection services, Action<DtlsHostedListenerOptions> configure) =>
        AddDtlsListener(services, Options.DefaultName, configure);

    /// <summary>Adds a named listener configured in code.</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The listener's name.</param>
    /// <param name="configure">Fills the options.</param>
    /// <returns>A builder for the session handler and more options.</returns>
    public static DtlsListenerBuilder AddDtlsListener(this IServiceCollection services, string name, Action<DtlsHostedListenerOptions> configure) =>
        Register(services, name).Configure(configure);

    private static DtlsListenerBuilder Register(IServiceCollection services, string name)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        // Adding the same name again adds configuration, not a second service on the same options.
        if (!services.Any(d => d.ServiceType == typeof(DtlsListenerService) && d.IsKeyedService && Equals(d.ServiceKey, name)))
        {
            services.AddOptions();
            services.AddKeyedSingleton(name, (provider, _) => new DtlsListenerService(
                name,
                provider.GetRequiredService<IOptionsMonitor<DtlsHostedListenerOptions>>(),
                provider,
                provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance,
                provider.GetService<IMeterFactory>(),
                provider.GetService<TimeProvider>()));
            services.AddSingleton<IHostedService>(provider => provider.GetRequiredKeyedService<DtlsListenerService>(name));
        }

        return new DtlsListenerBuilder(services, name);
    }
}
