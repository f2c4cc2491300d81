using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;
using NUnit.Framework.Interfaces;
using OpenSsl.Dtls;
using OpenSslDtls.Samples.Tests;

namespace OpenSslDtls.Interop.Tests.Support;

/// <summary>
/// Base of every matrix test: a per-test time bound, the peer processes it started (killed by PID in
/// teardown, their output attached to a failure), and the row it records for docs/interop.md.
/// </summary>
public abstract class InteropTest
{
    /// <summary>Our client connects to the peer's server.</summary>
    protected const string OursToPeer = "our client → peer server";

    /// <summary>The peer's client connects to our server.</summary>
    protected const string PeerToOurs = "peer client → our server";

    /// <summary>Bound on one peer getting ready, one handshake, one echo.</summary>
    protected static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly List<PeerProcess> _processes = [];
    private readonly List<int> _ports = [];
    private readonly List<IAsyncDisposable> _owned = [];
    private CancellationTokenSource? _testTimeout;
    private InteropRow? _row;

    protected static InteropPki Pki => InteropPki.Shared;

    /// <summary>Cancelled when the test has run for 60 s: every await on our side takes it.</summary>
    protected CancellationToken Token => _testTimeout!.Token;

    [SetUp]
    public void StartClock() => _testTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

    [TearDown]
    public async Task StopPeersAsync()
    {
        PeerProcess[] started;
        IAsyncDisposable[] owned;
        lock (_processes)
        {
            started = [.. _processes];
            owned = [.. _owned];
            _processes.Clear();
            _owned.Clear();
        }

        foreach (IAsyncDisposable item in owned)
        {
            await item.DisposeAsync();
        }

        bool failed = TestContext.CurrentContext.Result.Outcome.Status == TestStatus.Failed;
        foreach (PeerProcess process in started)
        {
            await process.DisposeAsync();
            if (failed)
            {
                await TestContext.Out.WriteLineAsync(process.Report());
            }
        }

        if (_row is not null)
        {
            TestStatus status = TestContext.CurrentContext.Result.Outcome.Status;
            if (status != TestStatus.Skipped && status != TestStatus.Inconclusive)
            {
                if (_row.Command.Length == 0)
                {
                    // In-process peers (BouncyCastle): the test itself is the command.
                    TestContext.TestAdapter test = TestContext.CurrentContext.Test;
                    _row.Command = $"dotnet test tests/OpenSslDtls.Interop.Tests -c Release --filter \"FullyQualifiedName~{test.ClassName?.Split('.')[^1]}.{test.MethodName}\"";
                }

                if (_row.Result == "not run")
                {
                    _row.Result = status == TestStatus.Passed ? "pass" : "**FAIL**";
                }

                global::OpenSslDtls.Interop.Tests.InteropTable.Add(_row);
            }
        }

        _testTimeout?.Dispose();
        _ports.Clear();
    }

    /// <summary>Declares this test's row; <paramref name="command"/> is completed by <see cref="Start"/> when the peer is a process.</summary>
    protected InteropRow Row(string peer, string direction, string feature, string command = "")
    {
        _row = new InteropRow(peer, direction, feature, command);
        return _row;
    }

    /// <summary>Adds to the row's notes (measurements, what the peer said).</summary>
    protected void Note(string text)
    {
        if (_row is not null)
        {
            // Addresses with ephemeral ports would change the table on every run.
            text = System.Text.RegularExpressions.Regex.Replace(Reproducible(text), @"(127\.0\.0\.1|\[::1\]|::1):[0-9]+", "$1:PORT");
            text = System.Text.RegularExpressions.Regex.Replace(text, @"\b[0-9A-F]{16}:error:", "error:"); // OpenSSL's thread id
            _row.Note = _row.Note.Length == 0 ? text : $"{_row.Note}; {text}";
        }
    }

    /// <summary>Marks the row as a peer limitation: the test passes because it proved the peer's own fault, named in <paramref name="result"/>.</summary>
    protected void PeerLimitation(string result)
    {
        if (_row is not null)
        {
            _row.Result = "peer limitation: " + result;
        }
    }

    /// <summary>Starts a peer program, tracked for teardown; the first process started gives the row its command.</summary>
    protected PeerProcess Start(string fileName, params string[] arguments)
    {
        PeerProcess process = PeerProcess.Start(fileName, arguments);
        lock (_processes)
        {
            _processes.Add(process);
        }

        if (_row is not null && _row.Command.Length == 0)
        {
            _row.Command = Reproducible(process.Description);
        }

        return process;
    }

    /// <summary>A UDP port nobody is bound to right now on <paramref name="address"/> (for peers that cannot pick their own).</summary>
    protected int FreeUdpPort(IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        _ports.Add(port);
        return port;
    }

    /// <summary>Our side's ports also become $PORT in the recorded command.</summary>
    protected void UsesPort(int port) => _ports.Add(port);

    protected static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A payload that says which test sent it (so echoes cannot be mixed up).</summary>
    protected static string Payload(string tag) => $"interop-{tag}-{Guid.NewGuid():N}";

    /// <summary>A payload that goes on a peer's command line, so the same in every run (docs/interop.md shows the command).</summary>
    protected static string StablePayload(string tag) => $"interop-{tag}";

    /// <summary>Connects our client (bounded), with the row's cause attached to any failure.</summary>
    protected async Task<DtlsSession> ConnectAsync(EndPoint server, DtlsClientOptions options) =>
        await DtlsClient.ConnectAsync(server, options, Token);

    /// <summary>Sends <paramref name="text"/> and returns the next datagram received, as text.</summary>
    protected async Task<string> RoundTripAsync(DtlsSession session, string text)
    {
        await session.SendAsync(Encoding.UTF8.GetBytes(text), Token);
        byte[] buffer = new byte[16384];
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        cts.CancelAfter(Bound);
        int n = await session.ReceiveAsync(buffer, cts.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>
    /// Our server on a connected socket (the README's pattern), for rows where the handshake's failure on
    /// our side is the point: the returned task ends with the session or the exception.
    /// </summary>
    protected (int Port, Task<DtlsSession> Accepted) AcceptOne(DtlsServerOptions options, IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        UsesPort(port);
        CancellationToken token = Token;
        Task<DtlsSession> accepted = Task.Run(async () =>
        {
            var context = new DtlsContext(options);
            try
            {
                SocketReceiveFromResult first = await socket.ReceiveFromAsync(
                    new byte[65536], SocketFlags.Peek, new IPEndPoint(address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0), token);
                socket.Connect(first.RemoteEndPoint);
                var session = new DtlsSession(context, socket);
                try
                {
                    await session.AcceptAsync(token);
                    return session;
                }
                catch
                {
                    await session.DisposeAsync();
                    throw;
                }
            }
            finally
            {
                // The session holds its own reference on the native context (docs/architecture.md, lifetime).
                context.Dispose();
            }
        }, token);
        _ = accepted.ContinueWith(t => { if (t.IsFaulted || t.IsCanceled) { socket.Dispose(); } }, TaskScheduler.Default);
        return (port, accepted);
    }

    /// <summary>Echoes every datagram of <paramref name="session"/> until close_notify, cancellation or an error; returns what it echoed.</summary>
    internal static async Task<List<byte[]>> EchoAsync(DtlsSession session, CancellationToken cancellationToken)
    {
        var echoed = new List<byte[]>();
        byte[] buffer = new byte[16384];
        try
        {
            int n;
            while ((n = await session.ReceiveAsync(buffer, cancellationToken)) > 0)
            {
                echoed.Add(buffer.AsSpan(0, n).ToArray());
                await session.SendAsync(buffer.AsMemory(0, n), cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or DtlsException or ObjectDisposedException)
        {
            // The peer left without close_notify (s_client at end of input, killed peers): the echo is done.
        }

        return echoed;
    }

    /// <summary>A listener on loopback that echoes every session it accepts until the test ends (disposed in teardown).</summary>
    protected EchoListener StartEchoListener(DtlsServerOptions options, IPAddress? address = null)
    {
        DtlsListener listener = DtlsListener.Listen(new DtlsListenerOptions
        {
            LocalEndPoint = new IPEndPoint(address ?? IPAddress.Loopback, 0),
            ServerOptions = options,
        });
        UsesPort(listener.LocalEndPoint.Port);
        var echo = new EchoListener(listener, Token);
        lock (_processes)
        {
            _owned.Add(echo);
        }

        return echo;
    }

    /// <summary>Our offer: the profile under test after another one, so the peer's choice is visible.</summary>
    protected static string[] OfferedSrtpProfiles(string profile) =>
        profile == "SRTP_AES128_CM_SHA1_32" ? [profile] : ["SRTP_AES128_CM_SHA1_32", profile];

    protected static async Task<Exception> CatchAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e)
        {
            return e;
        }

        throw new AssertionException("expected the exchange to fail, it succeeded");
    }

    /// <summary>The command as docs/interop.md shows it: PKI paths as $PKI, this test's ports as $PORT.</summary>
    private string Reproducible(string command)
    {
        string text = command.Replace(Pki.Folder, "$PKI", StringComparison.Ordinal).Replace(Repository.Scratch, "$SCRATCH", StringComparison.Ordinal)
            .Replace(Repository.Root, ".", StringComparison.Ordinal);
        foreach (int port in _ports)
        {
            string p = Text(port);
            text = System.Text.RegularExpressions.Regex.Replace(text, $@"(?<![0-9]){p}(?![0-9])", "$$PORT");
        }

        return text;
    }
}
