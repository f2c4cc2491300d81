using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace OpenSsl.Dtls.Hosting;

/// <summary>
/// Reports a hosted listener: unhealthy (the registration's failure status) unless it is listening;
/// degraded when an endpoint holds <see cref="DtlsListenerOptions.MaxSessions"/> associations, so that
/// new peers are refused; healthy otherwise. The data lists, per endpoint, its sessions and limits.
/// </summary>
internal sealed class DtlsListenerHealthCheck(DtlsListenerService service) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        DtlsListenerState state = service.State;
        var data = new Dictionary<string, object>
        {
            ["state"] = state.ToString(),
            ["activeSessions"] = service.ActiveSessions,
            ["maxSessionsPerEndpoint"] = service.MaxSessionsPerListener,
        };
        if (state != DtlsListenerState.Listening)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"DTLS listener '{service.Name}' is {state}, not listening.", data: data));
        }

        bool full = false;
        foreach (DtlsListener listener in service.Listeners)
        {
            DtlsListenerStatistics statistics = listener.Statistics;
            int associations = statistics.ActiveSessions + statistics.PendingHandshakes;
            string endpoint = listener.LocalEndPoint.ToString();
            data[endpoint + ":sessions"] = statistics.ActiveSessions;
            data[endpoint + ":pendingHandshakes"] = statistics.PendingHandshakes;
            data[endpoint + ":refusedOverSessionLimit"] = statistics.RefusedOverSessionLimit;
            full |= associations >= service.MaxSessionsPerListener;
        }

        string summary = string.Create(CultureInfo.InvariantCulture, $"DTLS listener '{service.Name}' listening on {service.Listeners.Count} endpoint(s), {service.ActiveSessions} sessions served");
        return Task.FromResult(full
            ? HealthCheckResult.Degraded($"{summary}; an endpoint is at MaxSessions ({service.MaxSessionsPerListener}): new peers are refused.", data: data)
            : HealthCheckResult.Healthy(summary, data));
    }
}
