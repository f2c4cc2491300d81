using System.Globalization;
using System.Net;

namespace OpenSsl.Dtls.Hosting;

/// <summary>Turns the configured <see cref="DtlsListenEndpoint"/>s into socket addresses, naming the entry that is wrong.</summary>
internal static class DtlsEndpoints
{
    private const string Setting = nameof(DtlsHostedListenerOptions.Endpoints);

    public static IPEndPoint[] Parse(IList<DtlsListenEndpoint>? endpoints)
    {
        if (endpoints is null || endpoints.Count == 0)
        {
            throw HostingErrors.Invalid(Setting, $"{Setting}: at least one endpoint is required (configuration: {Setting}:0:Address and {Setting}:0:Port).");
        }

        var parsed = new IPEndPoint[endpoints.Count];
        for (int i = 0; i < endpoints.Count; i++)
        {
            DtlsListenEndpoint endpoint = endpoints[i];
            string where = $"{Setting}:{i.ToString(CultureInfo.InvariantCulture)}";
            IPAddress address = endpoint.Address?.Trim() switch
            {
                "*" or "[::]" => IPAddress.IPv6Any,
                "localhost" => IPAddress.Loopback,
                string text when IPAddress.TryParse(text, out IPAddress? literal) => literal,
                string text => throw HostingErrors.Invalid(Setting, $"{Setting}: {where}:Address '{text}' is not an IP address, 'localhost' or '*'."),
                null => throw HostingErrors.Invalid(Setting, $"{Setting}: {where}:Address is required."),
            };
            if (endpoint.Port is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
            {
                throw HostingErrors.Invalid(Setting, $"{Setting}: {where}:Port {endpoint.Port} is not between 0 and 65535.");
            }

            parsed[i] = new IPEndPoint(address, endpoint.Port);
        }

        return parsed;
    }
}
