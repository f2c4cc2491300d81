namespace OpenSsl.Dtls.Hosting;

/// <summary>
/// One address and UDP port a hosted listener binds (configuration: <c>Endpoints:0:Address</c>,
/// <c>Endpoints:0:Port</c>). Each endpoint gets a <see cref="DtlsListener"/> of its own, with the same
/// server settings and limits.
/// </summary>
public sealed class DtlsListenEndpoint
{
    /// <summary>
    /// An IP address literal (<c>127.0.0.1</c>, <c>::1</c>), <c>localhost</c> (127.0.0.1), or <c>*</c>
    /// (every interface: an IPv6 socket that also accepts IPv4 peers, <c>[::]</c>). Default <c>*</c>.
    /// </summary>
    public string Address { get; set; } = "*";

    /// <summary>The UDP port, 0 to 65535; 0 picks a free one (read it from <see cref="DtlsListenerService.Listeners"/>). Default 0.</summary>
    public int Port { get; set; }
}
