using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace OpenSslDtls.Samples.Tests;

/// <summary>
/// Starts programs for a test and kills every one of them in teardown; when a test fails, the
/// output of each is attached to the result.
/// </summary>
public abstract class ProcessTestBase
{
    /// <summary>Bound on a program getting ready (a cold `dotnet` start included).</summary>
    protected static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Bound on one exchange (handshake and echo) and on a program's exit.</summary>
    protected static readonly TimeSpan ExchangeTimeout = TimeSpan.FromSeconds(30);

    private readonly List<PeerProcess> _processes = [];

    protected static TestPki Pki => TestPki.Shared;

    [OneTimeSetUp]
    public async Task BuildSamplesAsync() => await SampleBinaries.EnsureBuiltAsync();

    [TearDown]
    public async Task KillProcessesAsync()
    {
        PeerProcess[] started;
        lock (_processes)
        {
            started = [.. _processes];
            _processes.Clear();
        }

        foreach (PeerProcess process in started)
        {
            await process.DisposeAsync();
            if (TestContext.CurrentContext.Result.Outcome.Status == TestStatus.Failed)
            {
                await TestContext.Out.WriteLineAsync(process.Report());
            }
        }
    }

    protected PeerProcess Start(string fileName, params string[] arguments)
    {
        PeerProcess process = PeerProcess.Start(fileName, arguments);
        lock (_processes)
        {
            _processes.Add(process);
        }

        return process;
    }

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
