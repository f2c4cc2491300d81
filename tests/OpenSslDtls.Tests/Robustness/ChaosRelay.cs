using System.Net;
using System.Net.Sockets;
using OpenSslDtls.Tests.Dtls;

namespace OpenSslDtls.Tests.Robustness;

/// <summary>How a <see cref="ChaosRelay"/> flow mistreats datagrams: each a probability per datagram, per direction.</summary>
/// <param name="Loss">Dropped.</param>
/// <param name="Duplicate">Sent twice.</param>
/// <param name="Reorder">Held back and sent after the next datagram in the same direction (or after <see cref="ChaosRelay.HoldTime"/>).</param>
/// <param name="Corrupt">Damaged before sending: a few bits flipped, truncated, or random bytes appended (one kind, chosen at random).</param>
internal sealed record Impairments(double Loss = 0, double Duplicate = 0, double Reorder = 0, double Corrupt = 0)
{
    public static Impairments None { get; } = new();

    public override string ToString() => $"loss {Loss:P0}, duplicate {Duplicate:P0}, reorder {Reorder:P0}, corrupt {Corrupt:P0}";
}

/// <summary>
/// A UDP relay on 127.0.0.1 standing in for a hostile network, NAT-style: every client attached to it
/// gets its own <see cref="RelayFlow"/>, with its own socket towards the server, so a
/// <c>DtlsListener</c> behind the relay sees each client at a distinct address, and a server session on
/// a connected socket connects to its flow's <see cref="RelayFlow.ServerFacing"/>. Each flow applies its
/// seeded <see cref="Impairments"/> (and an optional targeted drop) and counts what it did, including
/// which application_data datagrams went through intact, so that a test can account for every
/// delivered datagram.
/// </summary>
internal sealed class ChaosRelay : IDisposable
{
    /// <summary>The longest a reordered datagram is held when nothing follows it.</summary>
    public static readonly TimeSpan HoldTime = TimeSpan.FromMilliseconds(20);

    private readonly Socket _front;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<RelayFlow> _flows = [];
    private readonly Lock _flowsLock = new();
    private readonly Task _frontLoop;

    /// <param name="seed">Seeds every flow's randomness (flow n uses seed, n and the direction).</param>
    public ChaosRelay(int seed)
    {
        Seed = seed;
        _front = LoopbackPair.Bound();
        EndPoint = (IPEndPoint)_front.LocalEndPoint!;
        _frontLoop = Task.Run(FrontLoopAsync);
    }

    /// <summary>Where clients send.</summary>
    public IPEndPoint EndPoint { get; }

    public int Seed { get; }

    /// <summary>Pulsed on every datagram the relay handles.</summary>
    public Progress Progress { get; } = new();

    /// <summary>
    /// Attaches the client at <paramref name="client"/>: its datagrams go to <paramref name="server"/> from a
    /// socket of its own, and what comes back on that socket goes to the client.
    /// </summary>
    /// <param name="drop">A targeted drop, checked before the impairments: (from the client?, 0-based index in that direction, bytes).</param>
    public RelayFlow Attach(EndPoint client, EndPoint server, Impairments impairments, Func<bool, int, ReadOnlyMemory<byte>, bool>? drop = null)
    {
        lock (_flowsLock)
        {
            var flow = new RelayFlow(this, _flows.Count, client, server, impairments, drop);
            _flows.Add(flow);
            flow.Start(_stop.Token);
            return flow;
        }
    }

    internal void SendToClient(EndPoint client, ReadOnlySpan<byte> datagram)
    {
        try
        {
            _front.SendTo(datagram, SocketFlags.None, client);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // A closed client port answers with ICMP; the network carries on.
        }
    }

    private async Task FrontLoopAsync()
    {
        byte[] buffer = new byte[65536];
        var any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _front.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
            {
                continue;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            RelayFlow? flow;
            lock (_flowsLock)
            {
                flow = _flows.FindLast(f => f.Client.Equals(received.RemoteEndPoint));
            }

            flow?.Handle(fromClient: true, buffer.AsSpan(0, received.ReceivedBytes));
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _front.Dispose();
        RelayFlow[] flows;
        lock (_flowsLock)
        {
            flows = [.. _flows];
        }

        foreach (RelayFlow flow in flows)
        {
            flow.Dispose();
        }

        _frontLoop.Wait(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}

/// <summary>One client's path through a <see cref="ChaosRelay"/>, with what it did in each direction.</summary>
internal sealed class RelayFlow : IDisposable
{
    private readonly ChaosRelay _relay;
    private readonly Socket _back;
    private readonly Impairments _impairments;
    private readonly Func<bool, int, ReadOnlyMemory<byte>, bool>? _drop;
    private Task _loop = Task.CompletedTask;

    internal RelayFlow(ChaosRelay relay, int index, EndPoint client, EndPoint server, Impairments impairments, Func<bool, int, ReadOnlyMemory<byte>, bool>? drop)
    {
        _relay = relay;
        Index = index;
        Client = client;
        Server = server;
        _impairments = impairments;
        _drop = drop;
        _back = LoopbackPair.Bound();
        ServerFacing = (IPEndPoint)_back.LocalEndPoint!;
        ToServer = new DirectionState(new Random(unchecked((relay.Seed * 31) + (index * 2))));
        ToClient = new DirectionState(new Random(unchecked((relay.Seed * 31) + (index * 2) + 1)));
    }

    public int Index { get; }

    public EndPoint Client { get; }

    public EndPoint Server { get; }

    /// <summary>The address the server sees this client at.</summary>
    public IPEndPoint ServerFacing { get; }

    /// <summary>The largest datagram received from either side.</summary>
    public int MaxDatagram { get; private set; }

    /// <summary>Client to server.</summary>
    public DirectionState ToServer { get; }

    /// <summary>Server to client.</summary>
    public DirectionState ToClient { get; }

    internal void Start(CancellationToken stop) => _loop = Task.Run(() => BackLoopAsync(stop), CancellationToken.None);

    private async Task BackLoopAsync(CancellationToken stop)
    {
        byte[] buffer = new byte[65536];
        var any = new IPEndPoint(IPAddress.Any, 0);
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _back.ReceiveFromAsync(buffer, SocketFlags.None, any, stop);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
            {
                continue;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (received.RemoteEndPoint.Equals(Server))
            {
                Handle(fromClient: false, buffer.AsSpan(0, received.ReceivedBytes));
            }
        }
    }

    /// <summary>Applies the targeted drop, then loss, corruption, duplication and reordering, and sends what is left.</summary>
    internal void Handle(bool fromClient, ReadOnlySpan<byte> received)
    {
        DirectionState state = fromClient ? ToServer : ToClient;
        byte[] datagram = received.ToArray();
        lock (state)
        {
            int index = state.Seen++;
            MaxDatagram = Math.Max(MaxDatagram, datagram.Length);
            bool application = datagram.Length > 0 && datagram[0] == 23;
            if (application)
            {
                state.ApplicationSeen++;
            }

            Random random = state.Random;
            if (_drop?.Invoke(fromClient, index, datagram) == true || random.NextDouble() < _impairments.Loss)
            {
                state.Dropped++;
            }
            else
            {
                bool appended = false;
                if (random.NextDouble() < _impairments.Corrupt)
                {
                    state.Corrupted++;
                    (datagram, appended) = Corrupt(datagram, random);
                }
                else if (application)
                {
                    state.IntactApplication.Add(Convert.ToBase64String(datagram));
                }

                if (appended && application)
                {
                    state.AppendedApplication++;
                }

                int copies = random.NextDouble() < _impairments.Duplicate ? 2 : 1;
                state.Duplicated += copies - 1;
                bool hold = state.Held is null && random.NextDouble() < _impairments.Reorder;
                for (int i = 0; i < copies; i++)
                {
                    if (hold && i == 0)
                    {
                        state.Held = datagram;
                        state.Reordered++;
                        _ = ReleaseLaterAsync(fromClient, state, datagram);
                        continue;
                    }

                    Send(fromClient, datagram);
                }

                if (!hold && state.Held is { } held)
                {
                    state.Held = null;
                    Send(fromClient, held);
                }
            }
        }

        _relay.Progress.Pulse();
    }

    // Simulated network delay for a held datagram that nothing overtook; not a synchronisation.
    private async Task ReleaseLaterAsync(bool fromClient, DirectionState state, byte[] datagram)
    {
        await Task.Delay(ChaosRelay.HoldTime);
        lock (state)
        {
            if (ReferenceEquals(state.Held, datagram))
            {
                state.Held = null;
                Send(fromClient, datagram);
            }
        }
    }

    private void Send(bool toServer, byte[] datagram)
    {
        if (!toServer)
        {
            _relay.SendToClient(Client, datagram);
            return;
        }

        try
        {
            _back.SendTo(datagram, SocketFlags.None, Server);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // ICMP from a closed server port, or the relay is stopping.
        }
    }

    /// <summary>One of three damages: flip 1-3 bits, cut the datagram short, or append 1-64 random bytes (returns whether appended).</summary>
    internal static (byte[] Datagram, bool Appended) Corrupt(byte[] datagram, Random random)
    {
        switch (datagram.Length == 0 ? 2 : random.Next(3))
        {
            case 0:
                byte[] flipped = (byte[])datagram.Clone();
                for (int i = random.Next(1, 4); i > 0; i--)
                {
                    flipped[random.Next(flipped.Length)] ^= (byte)(1 << random.Next(8));
                }

                return (flipped, false);
            case 1:
                return (datagram[..random.Next(datagram.Length)], false);
            default:
                byte[] garbage = new byte[random.Next(1, 65)];
                random.NextBytes(garbage);
                return ([.. datagram, .. garbage], true);
        }
    }

    public override string ToString() => $"flow {Index}: to server {ToServer}; to client {ToClient}";

    public void Dispose()
    {
        _back.Dispose();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }

    /// <summary>Counters of one direction; read them under a lock on the object (or after traffic stopped).</summary>
    internal sealed class DirectionState(Random random)
    {
        public Random Random { get; } = random;

        public int Seen { get; set; }

        public int Dropped { get; set; }

        public int Duplicated { get; set; }

        public int Reordered { get; set; }

        public int Corrupted { get; set; }

        public int ApplicationSeen { get; set; }

        /// <summary>application_data datagrams that left the relay with random bytes appended.</summary>
        public int AppendedApplication { get; set; }

        /// <summary>Distinct application_data datagrams that left the relay unchanged (at least once).</summary>
        public HashSet<string> IntactApplication { get; } = [];

        public byte[]? Held { get; set; }

        public (int Seen, int ApplicationSeen, int Intact, int Appended) Snapshot()
        {
            lock (this)
            {
                return (Seen, ApplicationSeen, IntactApplication.Count, AppendedApplication);
            }
        }

        public override string ToString()
        {
            lock (this)
            {
                return $"{Seen} seen ({ApplicationSeen} application_data, {IntactApplication.Count} of them intact), {Dropped} dropped, {Duplicated} duplicated, {Reordered} reordered, {Corrupted} corrupted ({AppendedApplication} application_data with bytes appended)";
            }
        }
    }
}

/// <summary>A condition to wait for that changes when something is pulsed: no polling, no sleeping.</summary>
internal sealed class Progress
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Pulse() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits until <paramref name="condition"/> holds; false if <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            Task next = Volatile.Read(ref _next).Task;
            if (condition())
            {
                return true;
            }

            try
            {
                await next.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return condition();
            }
        }
    }
}
