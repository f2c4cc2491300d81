using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace OpenSsl.Dtls.Hosting;

/// <summary>Adds a hosted DTLS listener's health check (<c>builder.Services.AddHealthChecks().AddDtlsListener()</c>).</summary>
public static class DtlsHealthChecksBuilderExtensions
{
    /// <summary>
    /// Checks the listener named <paramref name="listenerName"/>: <paramref name="failureStatus"/> unless it is
    /// listening, <see cref="HealthStatus.Degraded"/> while an endpoint is at <see cref="DtlsListenerOptions.MaxSessions"/>,
    /// healthy otherwise; the result's data gives the sessions and limits per endpoint.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="listenerName">The name given to AddDtlsListener; null or empty for the default listener.</param>
    /// <param name="checkName">The check's name; default <c>dtls</c>, or <c>dtls-NAME</c> for a named listener.</param>
    /// <param name="failureStatus">Reported when the listener is not listening; null means <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by (for example "ready").</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddDtlsListener(this IHealthChecksBuilder builder, string? listenerName = null, string? checkName = null, HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        string name = listenerName ?? Options.DefaultName;
        return builder.Add(new HealthCheckRegistration(
            checkName ?? (name.Length == 0 ? "dtls" : $"dtls-{name}"),
            provider => new DtlsListenerHealthCheck(provider.GetDtlsListenerService(name)),
            failureStatus,
            tags));
    }
}
