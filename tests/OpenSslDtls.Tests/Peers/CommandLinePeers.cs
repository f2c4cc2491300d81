using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using NUnit.Framework;
using NUnit.Framework.Interfaces;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.Tests;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// Base for tests against openssl and gnutls command-line peers: every process started is killed
/// (by PID) in teardown and its output attached to a failing test; our side is a
/// <see cref="DtlsListener"/> that echoes and records each session it accepted.
/// </summary>
public abstract class CommandLinePeers
{
    protected static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly List<PeerProcess> _processes = [];

    protected static string OpenSsl => ExternalTool.Require("openssl", "openssl");

    protected static string GnutlsCli => ExternalTool.Require("gnutls-cli", "gnutls-bin");

    [TearDown]
    public async Task StopPeersAsync()
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

    /// <summary>
    /// Runs <paramref name="command"/> through bash, so that arguments can carry raw bytes
    /// (<c>"$(printf '\xff\x01')"</c>) that a .NET argument list would re-encode as UTF-8.
    /// </summary>
    protected PeerProcess StartShell(string command) => Start("bash", "-c", "exec " + command);

    /// <summary>Starts <c>openssl s_server</c> on a free port with <paramref name="arguments"/> and waits for its ACCEPT line.</summary>
    protected async Task<(PeerProcess Server, IPEndPoint EndPoint)> StartOpenSslServerAsync(params string[] arguments)
    {
        int port = FreeUdpPort();
        PeerProcess server = Start(OpenSsl, ["s_server", "-dtls1_2", "-accept", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments]);
        await server.WaitUntilAsync(p => p.StandardOutput.Contains("ACCEPT", StringComparison.Ordinal), Bound, "s_server's ACCEPT");
        return (server, new IPEndPoint(IPAddress.Loopback, port));
    }

    protected static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>The hex after <c>Keying material: </c> in openssl's output (RFC 5705 export, no context).</summary>
    protected static byte[] OpenSslKeyingMaterial(PeerProcess peer)
    {
        string line = peer.StandardOutput.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("Keying material: ", StringComparison.Ordinal));
        return Convert.FromHexString(line["Keying material: ".Length..]);
    }

    protected static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);
}

/// <summary>
/// A <see cref="DtlsListener"/> on 127.0.0.1 that echoes every datagram and records what each
/// accepted session negotiated (read while the session is live).
/// </summary>
public sealed class EchoListener : IAsyncDisposable
{
    private readonly DtlsListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private EchoListener(DtlsListener listener)
    {
        _listener = listener;
        _accepting = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => _listener.LocalEndPoint;

    public string Port => EndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The label of the exports every accepted session records (RFC 5764 §4.2's).</summary>
    public const string ExportLabel = "EXTRACTOR-dtls_srtp";

    /// <summary>Bytes recorded; the TLS 1.2 PRF gives every shorter export as a prefix of this one.</summary>
    public const int ExportLength = 88;

    private readonly Channel<AcceptedSession> _accepted = Channel.CreateUnbounded<AcceptedSession>();

    public static EchoListener Start(DtlsServerOptions options) =>
        new(DtlsListener.Listen(new DtlsListenerOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), ServerOptions = options }));

    /// <summary>The next session accepted, in order of acceptance; fails after <paramref name="timeout"/>.</summary>
    public async Task<AcceptedSession> NextSessionAsync(TimeSpan timeout, string? peerOutput = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _accepted.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new AssertionException($"no session was accepted within {timeout.TotalSeconds} s.\n{peerOutput}");
        }
    }

    /// <summary>True if a session was accepted and not yet taken by <see cref="NextSessionAsync"/>.</summary>
    public bool HasAcceptedSession => _accepted.Reader.TryPeek(out _);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            DtlsSession session;
            try
            {
                session = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            _accepted.Writer.TryWrite(new AcceptedSession(
                session.CipherSuite,
                session.PskIdentity?.ToArray(),
                session.SrtpProfile is null ? null : session.GetSrtpKeys(),
                session.ExportKeyingMaterial(ExportLabel, ExportLength),
                session.ExportKeyingMaterialWithContext(ExportLabel, [], ExportLength),
                session.IsResumed,
                session.TargetHostName));
            _ = EchoAsync(session);
        }
    }

    private async Task EchoAsync(DtlsSession session)
    {
        await using (session)
        {
            byte[] buffer = new byte[16384];
            try
            {
                int n;
                while ((n = await session.ReceiveAsync(buffer, _stop.Token)) > 0)
                {
                    await session.SendAsync(buffer.AsMemory(0, n), _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or DtlsException or SocketException)
            {
                // The peer went away or the test ended: nothing to echo any more.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _listener.DisposeAsync();
        await _accepting;
        _stop.Dispose();
    }
}

/// <summary>What <see cref="EchoListener"/> saw of one session.</summary>
/// <param name="NoContextExport"><see cref="EchoListener.ExportLength"/> bytes exported with <see cref="EchoListener.ExportLabel"/> and no context.</param>
/// <param name="EmptyContextExport">The same with an empty context (RFC 5705: a different input).</param>
public sealed record AcceptedSession(string? CipherSuite, byte[]? PskIdentity, DtlsSrtpKeys? SrtpKeys, byte[] NoContextExport, byte[] EmptyContextExport, bool IsResumed, string? TargetHostName);
