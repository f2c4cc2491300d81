using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Dtls;

/// <summary>Application data: datagram boundaries, buffer sizes, and concurrent use of one session.</summary>
public sealed class RecordTests : DtlsFixture
{
    private static DtlsContext Server() => new(new DtlsServerOptions { Certificate = DtlsTestCertificates.EcdsaSelfSigned });

    private static DtlsContext Client() => new(new DtlsClientOptions
    {
        TrustedCertificates = [DtlsTestCertificates.EcdsaSelfSigned],
        TargetHost = DtlsTestCertificates.Host,
    });

    [Test]
    [CancelAfter(15_000)]
    public async Task Send_larger_than_MaxDatagramPayload_or_empty_is_an_ArgumentException(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = Client();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);
        int max = pair.Client.MaxDatagramPayload;

        Assert.Multiple(() =>
        {
            Assert.That(
                async () => await pair.Client.SendAsync(new byte[max + 1], cancellationToken),
                Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("datagram").And.Message.Contain($"{max}").And.Message.Contain($"{max + 1}"));
            Assert.That(() => pair.Client.Send(new byte[max + 1]), Throws.ArgumentException);
            Assert.That(async () => await pair.Client.SendAsync(Array.Empty<byte>(), cancellationToken), Throws.ArgumentException);
        });

        // Nothing was sent by the failed calls, and the session still works at exactly the limit.
        byte[] payload = RandomNumberGenerator.GetBytes(max);
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A_cancelled_receive_throws_and_the_next_receive_gets_the_next_datagram(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = Client();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);

        // A waiting receive is woken by a marker in the receive queue when its token is cancelled
        // (DtlsSession.ReceiveQueuedAsync): sweep how many cancelled waits come before each datagram,
        // and how many markers pile up, so that a stale marker or waiter would show as a lost,
        // reordered or corrupted datagram.
        var buffer = new byte[pair.Server.MaxDatagramPayload];
        for (int cancelled = 0; cancelled <= 8; cancelled++)
        {
            for (int i = 0; i < cancelled; i++)
            {
                using var wait = new CancellationTokenSource();
                ValueTask<int> pending = pair.Server.ReceiveAsync(buffer, wait.Token);
                await wait.CancelAsync();
                Assert.That(async () => await pending, Throws.InstanceOf<OperationCanceledException>(), $"cancelled wait {i + 1} of {cancelled}");
            }

            byte[] payload = RandomNumberGenerator.GetBytes(16 + cancelled);
            ValueTask<int> receive = pair.Server.ReceiveAsync(buffer, cancellationToken);
            await pair.Client.SendAsync(payload, cancellationToken);
            int n = await receive;
            Assert.That(buffer.AsSpan(0, n).ToArray(), Is.EqualTo(payload), $"the datagram after {cancelled} cancelled waits");
        }

        Assert.That(pair.Server.DroppedDatagrams, Is.Zero);
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Receive_into_a_too_small_buffer_throws_and_keeps_the_datagram(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = Client();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);

        byte[] first = RandomNumberGenerator.GetBytes(100);
        byte[] second = RandomNumberGenerator.GetBytes(40);
        await pair.Client.SendAsync(first, cancellationToken);
        await pair.Client.SendAsync(second, cancellationToken);

        Assert.That(
            async () => await pair.Server.ReceiveAsync(new byte[99], cancellationToken),
            Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("buffer").And.Message.Contain("100"));
        Assert.That(() => pair.Server.Receive(new byte[50]), Throws.ArgumentException, "the blocking call too");

        byte[] exact = new byte[100];
        Assert.That(await pair.Server.ReceiveAsync(exact, cancellationToken), Is.EqualTo(100));
        Assert.That(exact, Is.EqualTo(first), "the datagram was kept whole");
        byte[] rest = new byte[1000];
        int n = pair.Server.Receive(rest);
        Assert.That(rest.AsSpan(0, n).ToArray(), Is.EqualTo(second), "and the next one follows it");
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task Datagram_boundaries_are_preserved(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = Client();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken);

        byte[][] sent = [.. Enumerable.Range(1, 20).Select(i => RandomNumberGenerator.GetBytes(i * 37))];
        foreach (byte[] datagram in sent)
        {
            await pair.Client.SendAsync(datagram, cancellationToken);
        }

        byte[] buffer = new byte[4096];
        foreach (byte[] datagram in sent)
        {
            int n = await pair.Server.ReceiveAsync(buffer, cancellationToken);
            Assert.That(buffer.AsSpan(0, n).ToArray(), Is.EqualTo(datagram));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Blocking_Connect_Accept_Send_and_Receive_work_from_threads(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = Client();
        await using LoopbackPair pair = LoopbackPair.Create(serverContext, clientContext);

        byte[] payload = RandomNumberGenerator.GetBytes(777);
        Task server = Task.Factory.StartNew(
            () =>
            {
                pair.Server.Accept();
                byte[] buffer = new byte[2048];
                int n = pair.Server.Receive(buffer);
                pair.Server.Send(buffer.AsSpan(0, n));
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        byte[] echoed = await Task.Factory.StartNew(
            () =>
            {
                pair.Client.Connect();
                pair.Client.Send(payload);
                byte[] buffer = new byte[2048];
                return buffer.AsSpan(0, pair.Client.Receive(buffer)).ToArray();
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        await server.WaitAsync(cancellationToken);
        Assert.That(echoed, Is.EqualTo(payload));
    }

    private const int Workers = 8;
    private const int MessagesPerWorker = 200;
    private const int Window = 4;
    private const int HeaderLength = 5;
    private const int HashLength = 32;

    /// <summary>
    /// Eight senders and eight receivers share the client session while eight echo loops share the
    /// server session. Each message carries (worker, sequence) and a SHA-256 of itself; every echo
    /// is checked, and each (worker, sequence) must come back exactly once. Each worker keeps at most
    /// <see cref="Window"/> messages in flight, so 32 datagrams at most are queued anywhere and the
    /// loopback never has a reason to drop one: the check is exact.
    /// </summary>
    [Test]
    [CancelAfter(30_000)]
    public async Task Eight_tasks_send_and_receive_concurrently_on_one_session_without_loss_or_corruption(CancellationToken cancellationToken)
    {
        using DtlsContext serverContext = Server();
        using DtlsContext clientContext = Client();
        await using LoopbackPair pair = await LoopbackPair.ConnectAsync(serverContext, clientContext, cancellationToken, receiveBufferSize: 1 << 20);

        const int total = Workers * MessagesPerWorker;
        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var windows = Enumerable.Range(0, Workers).Select(_ => new SemaphoreSlim(Window, Window)).ToArray();
        var echoed = new ConcurrentDictionary<(int Worker, int Sequence), int>();
        var corrupt = new ConcurrentQueue<string>();
        int received = 0;
        int echoes = 0;

        Task[] servers = [.. Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            try
            {
                while (true)
                {
                    int n = await pair.Server.ReceiveAsync(buffer, done.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    await pair.Server.SendAsync(buffer.AsMemory(0, n), done.Token);
                    Interlocked.Increment(ref echoes);
                }
            }
            catch (OperationCanceledException) when (done.IsCancellationRequested)
            {
            }
        }))];

        Task[] receivers = [.. Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            try
            {
                while (Volatile.Read(ref received) < total)
                {
                    int n = await pair.Client.ReceiveAsync(buffer, done.Token);
                    if (!TryParse(buffer.AsSpan(0, n), out int worker, out int sequence))
                    {
                        corrupt.Enqueue($"a {n}-byte echo failed its checksum");
                        continue;
                    }

                    if (!echoed.TryAdd((worker, sequence), n))
                    {
                        corrupt.Enqueue($"({worker}, {sequence}) came back twice");
                        continue;
                    }

                    windows[worker].Release();
                    if (Interlocked.Increment(ref received) == total)
                    {
                        await done.CancelAsync();
                    }
                }
            }
            catch (OperationCanceledException) when (done.IsCancellationRequested)
            {
            }
        }))];

        Task[] senders = [.. Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            for (int sequence = 0; sequence < MessagesPerWorker; sequence++)
            {
                await windows[worker].WaitAsync(cancellationToken);
                await pair.Client.SendAsync(Message(worker, sequence), cancellationToken);
            }
        }))];

        Task all = Task.WhenAll([.. senders, .. receivers, .. servers]);
        try
        {
            await all.WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Only {received} of {total} echoes arrived in 20 s (server echoed {echoes}; dropped: client {pair.Client.DroppedDatagrams}, server {pair.Server.DroppedDatagrams}).");
        }
        finally
        {
            await done.CancelAsync();
            foreach (SemaphoreSlim window in windows)
            {
                window.Dispose();
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(corrupt, Is.Empty);
            Assert.That(received, Is.EqualTo(total));
            Assert.That(echoed.Keys, Is.EquivalentTo(Enumerable.Range(0, Workers).SelectMany(w => Enumerable.Range(0, MessagesPerWorker).Select(s => (w, s)))));
            Assert.That(echoes, Is.EqualTo(total));
            Assert.That(pair.Client.DroppedDatagrams, Is.Zero);
            Assert.That(pair.Server.DroppedDatagrams, Is.Zero);
        });

        // Both sessions are still healthy after the storm.
        byte[] payload = [42];
        Assert.That(await pair.EchoAsync(payload, cancellationToken), Is.EqualTo(payload));
    }

    private static byte[] Message(int worker, int sequence)
    {
        int payloadLength = (sequence * 31 + worker * 7) % 300;
        byte[] message = new byte[HeaderLength + payloadLength + HashLength];
        message[0] = (byte)worker;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), sequence);
        RandomNumberGenerator.Fill(message.AsSpan(HeaderLength, payloadLength));
        SHA256.HashData(message.AsSpan(0, HeaderLength + payloadLength), message.AsSpan(HeaderLength + payloadLength));
        return message;
    }

    private static bool TryParse(ReadOnlySpan<byte> message, out int worker, out int sequence)
    {
        worker = -1;
        sequence = -1;
        if (message.Length < HeaderLength + HashLength)
        {
            return false;
        }

        Span<byte> hash = stackalloc byte[HashLength];
        SHA256.HashData(message[..^HashLength], hash);
        if (!hash.SequenceEqual(message[^HashLength..]) || message[0] >= Workers)
        {
            return false;
        }

        worker = message[0];
        sequence = BinaryPrimitives.ReadInt32BigEndian(message[1..]);
        return sequence is >= 0 and < MessagesPerWorker;
    }
}
