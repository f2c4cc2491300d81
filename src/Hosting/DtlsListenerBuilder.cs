using Microsoft.Extensions.DependencyInjection;

namespace OpenSsl.Dtls.Hosting;

/// <summary>
/// Returned by <see cref="DtlsHostingServiceCollectionExtensions.AddDtlsListener(IServiceCollection, string, Action{DtlsHostedListenerOptions})"/>
/// to finish configuring one named listener: its session handler and more options.
/// </summary>
public sealed class DtlsListenerBuilder
{
    internal DtlsListenerBuilder(IServiceCollection services, string name)
    {
        Services = services;
        Name = name;
    }

    /// <summary>The service collection the listener is registered in.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The listener's name (the empty string for the default listener).</summary>
    public string Name { get; }

    /// <summary>Adds code configuration, applied after what was given before (configuration sections included).</summary>
    /// <param name="configure">Changes the options; runs once, when the service first reads them.</param>
    /// <returns>This builder.</returns>
    public DtlsListenerBuilder Configure(Action<DtlsHostedListenerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(Name, configure);
        return this;
    }

    /// <summary>Serves each session with <paramref name="handle"/> (see <see cref="IDtlsSessionHandler.HandleAsync"/> for the contract).</summary>
    /// <param name="handle">Called once per established session; the service disposes the session when the task ends.</param>
    /// <returns>This builder.</returns>
    public DtlsListenerBuilder UseSessionHandler(Func<DtlsSession, CancellationToken, Task> handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        Services.AddKeyedSingleton<IDtlsSessionHandler>(Name, new DelegateSessionHandler(handle));
        return this;
    }

    /// <summary>Serves each session with a <typeparamref name="THandler"/>, a singleton made by the container (its constructor may take services).</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <returns>This builder.</returns>
    public DtlsListenerBuilder UseSessionHandler<THandler>()
        where THandler : class, IDtlsSessionHandler
    {
        Services.AddKeyedSingleton<IDtlsSessionHandler, THandler>(Name);
        return this;
    }
}
