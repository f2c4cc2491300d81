using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OpenSsl.Dtls.Hosting;

/// <summary>Finds a hosted listener's service, for its state and its bound endpoints (<see cref="DtlsListenerService.Listeners"/>).</summary>
public static class DtlsHostingServiceProviderExtensions
{
    /// <summary>The service of the listener named <paramref name="name"/>.</summary>
    /// <param name="services">The host's services (<c>host.Services</c>).</param>
    /// <param name="name">The name given to AddDtlsListener; null or empty for the default listener.</param>
    /// <returns>The service (a singleton).</returns>
    /// <exception cref="InvalidOperationException">No listener of that name was added.</exception>
    public static DtlsListenerService GetDtlsListenerService(this IServiceProvider services, string? name = null) =>
        services.GetRequiredKeyedService<DtlsListenerService>(name ?? Options.DefaultName);
}
