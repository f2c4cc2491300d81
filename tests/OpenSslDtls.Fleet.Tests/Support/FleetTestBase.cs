using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests.Fleet.Support;

/// <summary>
/// Starts EchoServer instances sharing (or not) a cookie secret file and a ticket keys file, nginx in
/// front of them, and openssl s_client through it. Every process is stopped by its PID in teardown
/// (<see cref="PeerProcessTestBase"/>), its output attached to a failure.
/// </summary>
public abstract class FleetTestBase : PeerProcessTestBase
{
    protected static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(30);

    protected static string EchoServerDll => Path.Combine(TestContext.CurrentContext.TestDirectory, "EchoServer.dll");

    protected static string EchoClientDll => Path.Combine(TestContext.CurrentContext.TestDirectory, "EchoClient.dll");

    /// <summary>A new directory in the run's scratch space.</summary>
    protected static string NewDirectory(string name) =>
        Directory.CreateDirectory(Path.Combine(Repository.Scratch, $"{name}-{Guid.NewGuid():N}")).FullName;

    /// <summary>Writes a secret file as an operator should: created with mode 600, then renamed over the old one (atomic).</summary>
    protected static string WriteSecretFile(string path, string content)
    {
        string temporary = path + ".new";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        File.Move(temporary, path, overwrite: true);
        return path;
    }

    /// <summary>A fresh pair of fleet secrets in hex text files: a 32-byte cookie secret and one 80-byte ticket key.</summary>
    protected static (string CookieFile, string TicketFile) NewSecrets(string directory)
    {
        return (
            WriteSecretFile(Path.Combine(directory, "cookie.secret"), Convert.ToHexString(RandomNumberGenerator.GetBytes(32)) + "\n"),
            WriteSecretFile(Path.Combine(directory, "ticket.keys"), "# newest first\n" + Convert.ToHexString(RandomNumberGenerator.GetBytes(80)) + "\n"));
    }

    /// <summary>Starts one EchoServer on a free port with the test PKI's certificate and waits until it listens.</summary>
    protected async Task<EchoInstance> StartInstanceAsync(params string[] arguments)
    {
        PeerProcess process = Start("dotnet", [EchoServerDll, "--port", "0", "--cert", Pki.ServerCertificateFile, "--key", Pki.ServerKeyFile, .. arguments]);
        string line = await process.WaitForOutputLineAsync("listening on ", StartupTimeout);
        return new EchoInstance(process, int.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>Starts <paramref name="count"/> instances sharing the two secret files (one after the other: the machine is small).</summary>
    protected async Task<EchoInstance[]> StartFleetAsync(int count, string cookieFile, string ticketFile, params string[] arguments)
    {
        var instances = new EchoInstance[count];
        for (int i = 0; i < count; i++)
        {
            instances[i] = await StartInstanceAsync(["--cookie-secret-file", cookieFile, "--ticket-keys-file", ticketFile, .. arguments]);
        }

        return instances;
    }

    /// <summary>Writes the config into a private prefix and starts nginx in the foreground; returns once it has opened its sockets.</summary>
    protected async Task<(PeerProcess Process, NginxConfig Config, string Text)> StartNginxAsync(IEnumerable<EchoInstance> upstreams, Balancing balancing, TimeSpan proxyTimeout, string? proxyBind = null)
    {
        string nginx = ExternalTool.Require("nginx", "nginx libnginx-mod-stream");
        if (!File.Exists(NginxConfig.StreamModule))
        {
            ExternalTool.Require(NginxConfig.StreamModule, "libnginx-mod-stream");
        }

        string prefix = NewDirectory("nginx");
        var config = new NginxConfig(FreeUdpPort(), [.. upstreams.Select(u => u.Port)], balancing, proxyTimeout) { ProxyBind = proxyBind };
        string text = config.Render(Path.Combine(prefix, "nginx.pid"));
        string file = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(file, text);
        await TestContext.Out.WriteLineAsync($"--- {file}:\n{text}---");
        PeerProcess process = Start(nginx, "-p", prefix, "-c", file, "-e", "stderr");
        // Logged by main() after ngx_init_cycle has opened the listening sockets.
        await process.WaitUntilAsync(p => p.StandardError.Contains("getrlimit(RLIMIT_NOFILE)", StringComparison.Ordinal), StartupTimeout, "nginx started");
        return (process, config, text);
    }

    /// <summary>One openssl s_client connection: handshake, one line echoed (the proof, PEERS.md), end of input. Returns its stdout.</summary>
    protected async Task<string> RunSClientAsync(int port, params string[] arguments)
    {
        string openssl = ExternalTool.Require("openssl", "openssl");
        PeerProcess peer = Start(openssl, ["s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "-CAfile", Pki.CaFile, "-verify_return_error", .. arguments]);
        return await peer.EchoLineAndCloseAsync($"fleet-{Guid.NewGuid():N}", PeerTimeout);
    }

    /// <summary>Stops an instance with SIGTERM (a clean close) and returns the statistics line it logs on the way out.</summary>
    protected static async Task<FleetStatistics> StopAsync(EchoInstance instance)
    {
        await instance.Process.SignalAsync("TERM");
        await instance.Process.WaitForExitAsync(PeerTimeout);
        return instance.Statistics ?? throw new AssertionException($"{instance.Name} logged no statistics\n{instance.Process.Report()}");
    }

    protected static string Report(params PeerProcess[] processes) => string.Join('\n', processes.Select(p => p.Report()));

    /// <summary>A UDP port nobody is bound to right now, for nginx's listen.</summary>
    protected static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
