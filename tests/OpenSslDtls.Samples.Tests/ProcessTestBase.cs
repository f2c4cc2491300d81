using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>The echo samples' tests: builds the samples once, then starts them like any other program.</summary>
public abstract class ProcessTestBase : PeerProcessTestBase
{
    [OneTimeSetUp]
    public async Task BuildSamplesAsync() => await SampleBinaries.EnsureBuiltAsync();

    protected PeerProcess StartEchoClient(params string[] arguments) => Start("dotnet", [SampleBinaries.EchoClientDll, .. arguments]);

    /// <summary>Starts EchoServer on a free port and waits for its <c>listening on</c> line (and its fingerprint, if it has a certificate).</summary>
    protected async Task<EchoServerProcess> StartEchoServerAsync(params string[] arguments)
    {
        PeerProcess process = Start("dotnet", [SampleBinaries.EchoServerDll, "--port", "0", .. arguments]);
        string line = await process.WaitForOutputLineAsync("listening on ", StartupTimeout);
        int port = int.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        string? fingerprint = null;
        if (!arguments.Contains("--psk") || arguments.Contains("--cert"))
        {
            await process.WaitUntilAsync(p => (fingerprint = Fingerprint(p.StandardError)) is not null, StartupTimeout, "'fingerprint SHA256' on stderr");
        }

        return new EchoServerProcess(process, port, fingerprint);
    }

    /// <summary>A UDP port nobody is bound to right now, for peers that cannot pick their own.</summary>
    protected static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    protected static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string? Fingerprint(string stderr) =>
        stderr.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.StartsWith("fingerprint SHA256 ", StringComparison.Ordinal))?["fingerprint SHA256 ".Length..];
}

/// <summary>A running EchoServer: the process, its real port and its certificate's SHA-256 fingerprint.</summary>
public sealed record EchoServerProcess(PeerProcess Process, int Port, string? Fingerprint)
{
    public string PortText => Port.ToString(CultureInfo.InvariantCulture);
}
