using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace OpenSsl.Dtls.Hosting;

/// <summary>
/// Binds a <see cref="DtlsHostedListenerOptions"/> configuration section strictly: a key that names no
/// setting (<c>Server:MinimumProtocl</c>) and a value that does not convert (<c>Endpoints:0:Port=4x33</c>)
/// are errors naming the key, raised when the service reads its options at start. Plain
/// <see cref="ConfigurationBinder"/> ignores unknown keys, and skips a list element whose value does not
/// convert (its <c>BindCollection</c> swallows the error), which silently dropped a mistyped endpoint.
/// </summary>
internal static class DtlsConfigurationBinding
{
    public static void Bind(IConfiguration configuration, DtlsHostedListenerOptions options)
    {
        foreach (IConfigurationSection child in configuration.GetChildren())
        {
            switch (child.Key.ToUpperInvariant())
            {
                case "ENDPOINTS":
                    options.Endpoints = BindEndpoints(child);
                    break;
                case "SERVER":
                    BindObject(child, options.Server, nameof(options.Server));
                    break;
                case "LISTENER":
                    BindObject(child, options.Listener, nameof(options.Listener));
                    break;
                case "PSKKEYS":
                    BindObject(child, options.PskKeys, nameof(options.PskKeys));
                    break;
                case "PSKKEYSFILE":
                    options.PskKeysFile = Text(child, nameof(options.PskKeysFile));
                    break;
                case "COOKIESECRETFILE":
                    options.CookieSecretFile = Text(child, nameof(options.CookieSecretFile));
                    break;
                case "TICKETKEYSFILE":
                    options.TicketKeysFile = Text(child, nameof(options.TicketKeysFile));
                    break;
                default:
                    throw HostingErrors.Invalid(child.Key, $"{child.Key}: '{child.Path}' is not a setting of a DTLS listener (the settings are {nameof(options.Endpoints)}, {nameof(options.Server)}, {nameof(options.Listener)}, {nameof(options.PskKeys)}, {nameof(options.PskKeysFile)}, {nameof(options.CookieSecretFile)}, {nameof(options.TicketKeysFile)}).");
            }
        }
    }

    // Each element on its own, so that one that does not bind is an error naming it rather than a shorter list.
    private static List<DtlsListenEndpoint> BindEndpoints(IConfigurationSection section)
    {
        const string Setting = nameof(DtlsHostedListenerOptions.Endpoints);
        var endpoints = new List<DtlsListenEndpoint>();
        foreach (IConfigurationSection element in section.GetChildren())
        {
            if (!int.TryParse(element.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                throw HostingErrors.Invalid(Setting, $"{Setting}: '{element.Path}' is not a list element (configuration: {Setting}:0:Address, {Setting}:0:Port, {Setting}:1:...).");
            }

            if (element.Value is not null && !element.GetChildren().Any())
            {
                throw HostingErrors.Invalid(Setting, $"{Setting}: '{element.Path}' has the value '{element.Value}' but must hold Address and Port.");
            }

            var endpoint = new DtlsListenEndpoint();
            BindObject(element, endpoint, Setting);
            endpoints.Add(endpoint);
        }

        return endpoints;
    }

    private static void BindObject(IConfigurationSection section, object instance, string setting)
    {
        try
        {
            section.Bind(instance, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw HostingErrors.Invalid(setting, $"{setting}: '{section.Path}' could not be bound: {e.Message}", e);
        }
    }

    private static string? Text(IConfigurationSection section, string setting) =>
        section.GetChildren().Any()
            ? throw HostingErrors.Invalid(setting, $"{setting}: '{section.Path}' must be a single value (a file path), not a section.")
            : section.Value;
}
