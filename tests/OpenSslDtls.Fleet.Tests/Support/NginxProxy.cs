using System.Globalization;
using System.Text;

namespace OpenSslDtls.Samples.Tests.Fleet.Support;

/// <summary>How nginx picks an upstream for a new UDP session (ngx_stream_upstream_module).</summary>
public enum Balancing
{
    /// <summary>The default: weighted round-robin, one upstream per new client address and port.</summary>
    RoundRobin,

    /// <summary><c>hash $remote_addr consistent</c>: a client address always reaches the same upstream while it is up.</summary>
    HashRemoteAddress,
}

/// <summary>
/// The nginx configuration the fleet tests run (shown in docs/deployment.md): one UDP <c>listen</c> on
/// loopback in a <c>stream</c> block, the EchoServer instances as upstreams, nginx in the foreground
/// (<c>daemon off</c>, <c>master_process off</c>: one process, stopped by its PID), everything it writes
/// in a private prefix directory, the error log on stderr at <c>info</c> (it logs each UDP session's
/// upstream and its end: "udp timed out").
/// </summary>
public sealed record NginxConfig(int ListenPort, IReadOnlyList<int> Upstreams, Balancing Balancing, TimeSpan ProxyTimeout)
{
    /// <summary>Debian's path of libnginx-mod-stream's module.</summary>
    public const string StreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so";

    /// <summary>
    /// An optional <c>proxy_bind</c>: <c>127.0.0.2:$remote_port</c> makes every upstream see a client as
    /// 127.0.0.2 and the client's own port, whichever nginx session carries it, as an address-preserving
    /// balancer (LVS, a cloud NLB, nginx's <c>transparent</c> mode) would.
    /// </summary>
    public string? ProxyBind { get; init; }

    public string Render(string pidFile)
    {
        string balancing = Balancing == Balancing.HashRemoteAddress ? "        hash $remote_addr consistent;\n" : string.Empty;
        var servers = new StringBuilder();
        foreach (int port in Upstreams)
        {
            servers.Append(CultureInfo.InvariantCulture, $"        server 127.0.0.1:{port};\n");
        }

        string bind = ProxyBind is null ? string.Empty : $"        proxy_bind {ProxyBind};\n";
        return string.Create(CultureInfo.InvariantCulture, $$"""
            load_module {{StreamModule}};
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{pidFile}};
            error_log stderr info;
            events { worker_connections 1024; }
            stream {
                upstream dtls_echo {
            {{balancing}}{{servers}}    }
                server {
                    listen 127.0.0.1:{{ListenPort}} udp;
                    proxy_pass dtls_echo;
                    proxy_timeout {{(int)ProxyTimeout.TotalSeconds}}s;
            {{bind}}    }
            }

            """);
    }
}
