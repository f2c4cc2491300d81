using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSslDtls.Listener.Tests.Support;
using OpenSslDtls.Samples.Tests;
using static OpenSslDtls.Listener.Tests.Support.ListenerTestKit;

namespace OpenSslDtls.Listener.Tests;

/// <summary>
/// <see cref="DtlsServerOptions.PskKeyLookupAsync"/> on a listener (issue 11 §2): a key store that
/// takes seconds for one identity does not delay the other peers' handshakes (openssl s_client among
/// them), lookups in flight are bounded and refusals counted, a throwing store fails only its own
/// handshake, and a ClientKeyExchange cut into small fragments (reordered, duplicated, overlapping)
/// starts exactly one lookup.
/// </summary>
public class AsyncPskLookupTests
{
    private static readonly byte[] Key = Convert.FromHexString("8f0c2b6a19d4e7f35a6b7c8d9e0f1a2b");
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan SlowStoreLatency = TimeSpan.FromSeconds(3);

    /// <summary>A store whose lookups for "slow" wait for <see cref="Release"/>; every other identity answers at once.</summary>
    private sealed class SlowStore
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _slowStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<string?> Requests { get; } = new();

        public Task SlowStarted => _slowStarted.Task;

        public long ReleasedAt { get; private set; }

        /// <summary>Block the lookup thread itself (a synchronous database driver) instead of awaiting.</summary>
        public bool Blocking { get; init; }

        public void Release()
        {
            ReleasedAt = Stopwatch.GetTimestamp();
            _gate.TrySetResult();
        }

        public async ValueTask<ReadOnlyMemory<byte>?> LookupAsync(DtlsPskRequest request, CancellationToken ct)
        {
            Requests.Enqueue(request.IdentityText);
            Assert.That(request.RemoteEndPoint, Is.Not.Null);
            switch (request.IdentityText)
            {
                case "slow":
                    _slowStarted.TrySetResult();
                    if (Blocking)
                    {
                        _gate.Task.Wait(ct);
                    }
                    else
                    {
                        await _gate.Task.WaitAsync(ct);
                    }

                    return Key;
                case "broken":
                    throw new InvalidOperationException("the key store is down");
                case { } id when id.StartsWith("fast", StringComparison.Ordinal) || id.StartsWith("fragmented", StringComparison.Ordinal):
                    return Key;
                default:
                    return null;
            }
        }
    }

    private static DtlsListenerOptions PskOptions(SlowStore store, int maxPendingLookups = 64, ILoggerFactory? logger = null)
    {
        DtlsListenerOptions options = Options(new DtlsServerOptions { PskKeyLookupAsync = store.LookupAsync, HandshakeTimeout = TimeSpan.FromSeconds(30), MaximumProtocol = DtlsProtocolVersion.Dtls12 });
        return new DtlsListenerOptions
        {
            LocalEndPoint = options.LocalEndPoint,
            ServerOptions = options.ServerOptions,
            MaxPendingPskLookups = maxPendingLookups,
            LoggerFactory = logger,
        };
    }

    private static DtlsContext PskClient(string identity, int mtu = 1200) => new(new DtlsClientOptions
    {
        PskIdentityText = identity,
        PskKey = Key,
        Mtu = mtu,
        AllowSessionResumption = false,
        HandshakeTimeout = TimeSpan.FromSeconds(30),
    });

    private static PeerProcess StartSClient(DtlsListener listener, string identity) =>
        PeerProcess.Start(ExternalTool.Require("openssl", "openssl"), ["s_client", "-dtls1_2", "-connect", listener.LocalEndPoint.ToString(), "-psk_identity", identity, "-psk", Convert.ToHexString(Key)]);

    /// <summary>s_client's handshake and one echoed line: its time of completion.</summary>
    private static async Task<long> SClientEchoAsync(PeerProcess peer, string line)
    {
        await peer.WaitUntilAsync(p => p.StandardOutput.Contains("Cipher is", StringComparison.Ordinal), PeerTimeout, "s_client's handshake");
        peer.Write(line + "\n");
        // s_client prints "New, ..." even for a failed handshake (PEERS.md): the echo is the proof.
        await peer.WaitUntilAsync(p => p.StandardOutput.Split('\n').Any(l => l.TrimEnd('\r') == line), PeerTimeout, "the echo");
        return Stopwatch.GetTimestamp();
    }

    private static async Task<long> OurClientEchoAsync(DtlsListener listener, string identity, CancellationToken ct)
    {
        using DtlsContext context = PskClient(identity);
        using Client client = await ConnectAsync(listener, context, ct);
        try
        {
            await EchoAsync(client.Session, Encoding.ASCII.GetBytes(identity), ct);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Assert.Fail($"no echo for {identity}: client rejected {client.Session.RejectedDatagrams}, ignored {client.Session.IgnoredRecords}, dropped {client.Session.DroppedDatagrams}, retransmissions {client.Session.Retransmissions}; {listener.Statistics}");
        }

        return Stopwatch.GetTimestamp();
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_lookup_that_takes_seconds_does_not_delay_other_peers_handshakes_on_the_same_listener([Values] bool blockingStore, CancellationToken ct)
    {
        var store = new SlowStore { Blocking = blockingStore };
        await using DtlsListener listener = DtlsListener.Listen(PskOptions(store));
        await using EchoServer echo = EchoServer.Start(listener);

        long slowStart = Stopwatch.GetTimestamp();
        Task<long> slow = OurClientEchoAsync(listener, "slow", ct);
        await store.SlowStarted.WaitAsync(PeerTimeout, ct);

        // While "slow" is held: openssl s_client and four of our clients handshake and echo.
        await using PeerProcess sClient = StartSClient(listener, "fast-openssl");
        Task<long> third = SClientEchoAsync(sClient, "through-the-listener-while-a-lookup-waits");
        Task<long>[] ours = [.. Enumerable.Range(0, 4).Select(i => OurClientEchoAsync(listener, $"fast-{i}", ct))];
        long[] fastDone = await Task.WhenAll([third, .. ours]);

        Assert.That(slow.IsCompleted, Is.False, "the slow handshake is still waiting for its key");
        Assert.That(listener.Statistics.PskLookupsInFlight, Is.EqualTo(1), listener.Statistics.ToString());

        // The slow store answers after its latency (at least SlowStoreLatency after it was asked), never before the others finished.
        TimeSpan remaining = SlowStoreLatency - Stopwatch.GetElapsedTime(slowStart);
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining, ct); // the store's latency, not a synchronisation: the gate is the TaskCompletionSource
        }

        store.Release();
        long slowDone = await slow.WaitAsync(PeerTimeout, ct);

        double[] fastSeconds = [.. fastDone.Select(t => Stopwatch.GetElapsedTime(slowStart, t).TotalSeconds)];
        double releasedSeconds = Stopwatch.GetElapsedTime(slowStart, store.ReleasedAt).TotalSeconds;
        string report = $"fast peers done at [{string.Join(", ", fastSeconds.Select(s => s.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)))}] s, slow released at {releasedSeconds:0.000} s, slow done at {Stopwatch.GetElapsedTime(slowStart, slowDone).TotalSeconds:0.000} s\n{listener.Statistics}\n{sClient.Report()}";
        TestContext.Out.WriteLine(report);
        Assert.That(fastDone, Has.All.LessThan(store.ReleasedAt), report);
        Assert.That(slowDone, Is.GreaterThan(store.ReleasedAt), report);
        Assert.That(listener.Statistics.HandshakesCompleted, Is.EqualTo(6), report);
        Assert.That(listener.Statistics.PskLookupsInFlight, Is.Zero, report);
        Assert.That(store.Requests.Count(r => r == "slow"), Is.EqualTo(1), "retransmitted flights of the held handshake start no second lookup");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Over_MaxPendingPskLookups_a_handshake_is_refused_with_internal_error_counted_and_logged(CancellationToken ct)
    {
        var store = new SlowStore();
        var logger = new LineLogger();
        await using DtlsListener listener = DtlsListener.Listen(PskOptions(store, maxPendingLookups: 1, logger: logger));
        await using EchoServer echo = EchoServer.Start(listener);

        Task<long> slow = OurClientEchoAsync(listener, "slow", ct);
        await store.SlowStarted.WaitAsync(PeerTimeout, ct);

        await using (PeerProcess refused = StartSClient(listener, "fast-refused"))
        {
            await refused.WaitUntilAsync(p => (p.StandardOutput + p.StandardError).Contains("alert internal error", StringComparison.Ordinal), PeerTimeout, "s_client reporting the internal_error alert");
        }

        Assert.That(async () => await OurClientEchoAsync(listener, "fast-ours-refused", ct), Throws.InstanceOf<DtlsException>().And.Message.Contains("internal error"));
        Assert.That(await WaitUntilAsync(() => listener.Statistics.HandshakesFailed == 2, PeerTimeout, ct), Is.True, listener.Statistics.ToString());
        DtlsListenerStatistics stats = listener.Statistics;
        Assert.That(stats.RefusedOverPskLookupLimit, Is.EqualTo(2), stats.ToString());
        Assert.That(stats.PskLookupsInFlight, Is.EqualTo(1), stats.ToString());
        Assert.That(logger.Lines.Any(l => l.Contains("MaxPendingPskLookups", StringComparison.Ordinal)), Is.True, string.Join("\n", logger.Lines));
        Assert.That(store.Requests, Has.No.Member("fast-refused"), "a refused handshake asks the store nothing");

        // Once the slot is free again, handshakes go through.
        store.Release();
        await slow.WaitAsync(PeerTimeout, ct);
        await OurClientEchoAsync(listener, "fast-after", ct);
        await using PeerProcess after = StartSClient(listener, "fast-openssl-after");
        await SClientEchoAsync(after, "after-the-refusals");
        Assert.That(listener.Statistics.RefusedOverPskLookupLimit, Is.EqualTo(2));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_throwing_lookup_fails_only_its_handshake_with_unknown_psk_identity(CancellationToken ct)
    {
        var store = new SlowStore();
        await using DtlsListener listener = DtlsListener.Listen(PskOptions(store));
        await using EchoServer echo = EchoServer.Start(listener);

        await using (PeerProcess broken = StartSClient(listener, "broken"))
        {
            await broken.WaitUntilAsync(p => (p.StandardOutput + p.StandardError).Contains("unknown psk identity", StringComparison.Ordinal), PeerTimeout, "s_client reporting unknown_psk_identity");
        }

        Assert.That(async () => await OurClientEchoAsync(listener, "broken", ct), Throws.InstanceOf<DtlsException>().And.Message.Contains("unknown PSK identity"));
        Assert.That(async () => await OurClientEchoAsync(listener, "stranger", ct), Throws.InstanceOf<DtlsException>().And.Message.Contains("unknown PSK identity"));
        await using PeerProcess good = StartSClient(listener, "fast-openssl");
        await SClientEchoAsync(good, "the-listener-carries-on");
        await OurClientEchoAsync(listener, "fast-ours", ct);

        Assert.That(await WaitUntilAsync(() => listener.Statistics.HandshakesFailed == 3, PeerTimeout, ct), Is.True, listener.Statistics.ToString());
        Assert.That(listener.Statistics.HandshakesCompleted, Is.EqualTo(2));
        Assert.That(listener.Statistics.PskLookupsInFlight, Is.Zero);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_ClientKeyExchange_in_small_fragments_starts_one_lookup_and_completes(
        [Values] FragmentOrder order,
        [Values(3, 16)] int fragmentSize,
        CancellationToken ct)
    {
        var store = new SlowStore();
        await using DtlsListener listener = DtlsListener.Listen(PskOptions(store));
        await using EchoServer echo = EchoServer.Start(listener);
        await using var relay = new UdpRelay(listener.LocalEndPoint);
        var refragmenter = new Refragmenter(fragmentSize, order);
        var delivered = new ConcurrentQueue<byte[]>();
        relay.FromClientRewrite = datagram =>
        {
            IReadOnlyList<byte[]> pieces = refragmenter.Rewrite(datagram);
            foreach (byte[] piece in pieces)
            {
                delivered.Enqueue(piece);
            }

            return pieces;
        };
        // 100 bytes: the identity spans many fragments at both sizes.
        string identity = "fragmented-" + new string('x', 89);
        using DtlsContext context = PskClient(identity);

        using Client client = await ConnectAsync(relay.EndPoint, context, ct);
        await EchoAsync(client.Session, [1, 2, 3, 4], ct);

        List<(byte Type, int MessageLength, int Sequence, int Offset, int Length)> keyExchange = [.. delivered.SelectMany(RawDtls.Fragments).Where(f => f.Type == 16)];
        string report = $"{keyExchange.Count} ClientKeyExchange fragments; {listener.Statistics}";
        Assert.That(keyExchange.Count(f => f.Offset > 0), Is.GreaterThan(100 / fragmentSize / 2), report);
        Assert.That(store.Requests, Is.EqualTo(new[] { identity }), report);
        Assert.That(listener.Statistics.HandshakesCompleted, Is.EqualTo(1), report);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_lookup_still_running_at_HandshakeTimeout_is_cancelled_and_gives_its_place_back(CancellationToken ct)
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        DtlsListenerOptions options = Options(new DtlsServerOptions
        {
            HandshakeTimeout = TimeSpan.FromSeconds(2),
            MaximumProtocol = DtlsProtocolVersion.Dtls12,
            PskKeyLookupAsync = async (request, token) =>
            {
                using (token.Register(() => cancelled.TrySetResult()))
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }

                return Key;
            },
        });
        await using DtlsListener listener = DtlsListener.Listen(options);
        using DtlsContext context = PskClient("never-answered");

        Task<Client> connect = ConnectAsync(listener, context, ct);
        await cancelled.Task.WaitAsync(PeerTimeout, ct);
        Assert.That(await WaitUntilAsync(() => listener.Statistics.PskLookupsInFlight == 0 && listener.Statistics.HandshakesTimedOut == 1, PeerTimeout, ct), Is.True, listener.Statistics.ToString());
        Assert.That(async () => await connect, Throws.InstanceOf<Exception>(), "the client gets no answer: the server dropped the handshake");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Lookups_that_ignore_cancellation_give_their_places_back_when_their_handshakes_time_out_and_are_counted_and_logged([Values(1, 3)] int hung, CancellationToken ct)
    {
        // The listener's clock is a FakeTimeProvider: HandshakeTimeout and the abandonment grace pass when the test says.
        var clock = new FakeTimeProvider();
        var logger = new LineLogger();
        var never = new TaskCompletionSource<ReadOnlyMemory<byte>?>(TaskCreationOptions.RunContinuationsAsynchronously);
        int started = 0;
        DtlsListenerOptions options = Options(new DtlsServerOptions
        {
            HandshakeTimeout = TimeSpan.FromSeconds(30),
            MaximumProtocol = DtlsProtocolVersion.Dtls12,
            // A store call that hangs and ignores its token (a driver without cancellation).
            PskKeyLookupAsync = (request, token) =>
            {
                if (request.IdentityText?.StartsWith("hung", StringComparison.Ordinal) == true)
                {
                    Interlocked.Increment(ref started);
                    return new ValueTask<ReadOnlyMemory<byte>?>(never.Task);
                }

                return ValueTask.FromResult<ReadOnlyMemory<byte>?>(Key);
            },
        });
        options.MaxPendingPskLookups = hung; // the hung lookups fill the bound
        options.TimeProvider = clock;
        options.LoggerFactory = logger;
        await using DtlsListener listener = DtlsListener.Listen(options);
        await using EchoServer echo = EchoServer.Start(listener);

        var hungClients = new List<(DtlsContext Context, Task<Client> Connect)>();
        for (int i = 0; i < hung; i++)
        {
            DtlsContext context = new(new DtlsClientOptions { PskIdentityText = $"hung-{i}", PskKey = Key, AllowSessionResumption = false, HandshakeTimeout = TimeSpan.FromSeconds(5) });
            hungClients.Add((context, ConnectAsync(listener, context, ct)));
            int expected = i + 1;
            Assert.That(await WaitUntilAsync(() => Volatile.Read(ref started) == expected, PeerTimeout, ct), Is.True, listener.Statistics.ToString());
        }

        Assert.That(listener.Statistics.PskLookupsInFlight, Is.EqualTo(hung), listener.Statistics.ToString());

        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.That(await WaitUntilAsync(() => listener.Statistics is { PskLookupsInFlight: 0 } s && s.HandshakesTimedOut == hung, PeerTimeout, ct), Is.True, "the places went back with the handshakes\n" + listener.Statistics);
        Assert.That(listener.Statistics.PskLookupsAbandoned, Is.Zero, "within the grace");
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(await WaitUntilAsync(() => listener.Statistics.PskLookupsAbandoned == hung, PeerTimeout, ct), Is.True, listener.Statistics.ToString());

        // Later clients are served: openssl s_client and ours.
        await using (PeerProcess sClient = StartSClient(listener, "fast-openssl"))
        {
            await SClientEchoAsync(sClient, "served-after-the-hung-lookups");
        }

        await OurClientEchoAsync(listener, "fast-ours", ct);

        (string Category, LogLevel Level, int EventId, string Line)[] warnings = [.. logger.Entries.Where(e => e.Level == LogLevel.Warning && e.Line.Contains("PskKeyLookupAsync", StringComparison.Ordinal))];
        Assert.Multiple(() =>
        {
            Assert.That(never.Task.IsCompleted, Is.False, "the hung lookups are still running");
            Assert.That(listener.Statistics.RefusedOverPskLookupLimit, Is.Zero, listener.Statistics.ToString());
            Assert.That(listener.Statistics.HandshakesCompleted, Is.EqualTo(2));
            Assert.That(listener.Statistics.PskLookupsInFlight, Is.Zero);
            Assert.That(warnings, Is.Not.Empty, string.Join("\n", logger.Lines));
            Assert.That(warnings.Select(w => w.Line), Has.All.Contain("ignores its CancellationToken").And.All.Contain("127.0.0.1"));
        });

        foreach ((DtlsContext context, Task<Client> connect) in hungClients)
        {
            Assert.That(async () => (await connect).Dispose(), Throws.InstanceOf<Exception>(), "no key: the hung handshakes never completed");
            context.Dispose();
        }
    }
}
