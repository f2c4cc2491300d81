using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using NUnit.Framework;
using OpenSsl.Dtls;

namespace OpenSslDtls.Tests.Robustness;

/// <summary>
/// Application data through a <see cref="RelayFlow"/>, accounted for datagram by datagram: the client
/// sends numbered, self-hashed datagrams, the server echoes what it receives. DTLS promises datagrams
/// that may be lost or arrive out of order, but are never corrupted and never delivered twice
/// (RFC 6347 §4.1.2.6 replay detection): every datagram received must verify, be one that was sent,
/// and be new; and the number received must match what the relay let through intact.
/// </summary>
internal static class Traffic
{
    private const int Batch = 20;

    /// <summary>Index, random bytes, then the SHA-256 of both.</summary>
    public static byte[] Signed(int index, int length = 100)
    {
        byte[] datagram = new byte[length];
        BinaryPrimitives.WriteInt32BigEndian(datagram, index);
        RandomNumberGenerator.Fill(datagram.AsSpan(4, length - 36));
        SHA256.HashData(datagram.AsSpan(0, length - 32), datagram.AsSpan(length - 32));
        return datagram;
    }

    /// <summary>The index of a datagram made by <see cref="Signed"/>, or -1 if it does not verify.</summary>
    public static int Verify(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < 36 || !SHA256.HashData(datagram[..^32]).AsSpan().SequenceEqual(datagram[^32..]))
        {
            return -1;
        }

        return BinaryPrimitives.ReadInt32BigEndian(datagram);
    }

    /// <summary>
    /// Sends <paramref name="count"/> datagrams client to server (in batches the relay is seen to take,
    /// so socket buffers never overflow), echoes them, and checks the accounting. Returns a summary line.
    /// </summary>
    public static async Task<string> ExchangeAsync(RelayedPair pair, ChaosRelay relay, int count, string context, CancellationToken cancellationToken)
    {
        DtlsSession server = pair.Server ?? throw new InvalidOperationException("no server session");
        RelayFlow flow = pair.Flow;
        var serverGot = new ConcurrentDictionary<int, bool>();
        var clientGot = new ConcurrentDictionary<int, bool>();
        var problems = new ConcurrentQueue<string>();
        int echoed = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task echo = Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            while (true)
            {
                int n = await server.ReceiveAsync(buffer, stop.Token);
                int index = Verify(buffer.AsSpan(0, n));
                if (index < 0 || index >= count)
                {
                    problems.Enqueue($"server received a datagram that does not verify ({n} bytes)");
                }
                else if (!serverGot.TryAdd(index, true))
                {
                    problems.Enqueue($"server received datagram {index} twice");
                }

                await server.SendAsync(buffer.AsMemory(0, n), stop.Token);
                Interlocked.Increment(ref echoed);
                relay.Progress.Pulse();
            }
        }, CancellationToken.None);
        Task read = Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            while (true)
            {
                int n = await pair.Client.ReceiveAsync(buffer, stop.Token);
                int index = Verify(buffer.AsSpan(0, n));
                if (index < 0 || index >= count)
                {
                    problems.Enqueue($"client received a datagram that does not verify ({n} bytes)");
                }
                else if (!clientGot.TryAdd(index, true))
                {
                    problems.Enqueue($"client received echo {index} twice");
                }

                relay.Progress.Pulse();
            }
        }, CancellationToken.None);

        TimeSpan wait = TimeSpan.FromSeconds(10);
        int applicationBefore = flow.ToServer.Snapshot().ApplicationSeen;
        for (int sent = 0; sent < count;)
        {
            int batchEnd = Math.Min(count, sent + Batch);
            for (; sent < batchEnd; sent++)
            {
                await pair.Client.SendAsync(Signed(sent), cancellationToken);
            }

            int target = applicationBefore + batchEnd;
            Assert.That(await relay.Progress.WaitUntilAsync(() => flow.ToServer.Snapshot().ApplicationSeen >= target, wait, cancellationToken), Is.True,
                $"{context}: the relay saw the client's datagrams; {flow}");
        }

        // Everything the relay let through intact reaches the server; every echo it sent passes the relay.
        Assert.That(await relay.Progress.WaitUntilAsync(() => serverGot.Count >= flow.ToServer.Snapshot().Intact && problems.IsEmpty, wait, cancellationToken), Is.True,
            $"{context}: the server received {serverGot.Count}, problems: {string.Join("; ", problems)}; {flow}");
        // The server echoes what it received after recording it: wait for the last echo to be sent
        // (not only received) before counting what the relay let through to the client.
        Assert.That(await relay.Progress.WaitUntilAsync(() => Volatile.Read(ref echoed) >= serverGot.Count && flow.ToClient.Snapshot().ApplicationSeen >= Volatile.Read(ref echoed), wait, cancellationToken), Is.True,
            $"{context}: the relay saw the server's echoes; {flow}");
        Assert.That(await relay.Progress.WaitUntilAsync(() => clientGot.Count >= flow.ToClient.Snapshot().Intact && problems.IsEmpty, wait, cancellationToken), Is.True,
            $"{context}: the client received {clientGot.Count} echoes, problems: {string.Join("; ", problems)}; {flow}");

        await stop.CancelAsync();
        await Task.WhenAll(echo.ContinueWith(_ => { }, TaskScheduler.Default), read.ContinueWith(_ => { }, TaskScheduler.Default));
        foreach (Task task in new[] { echo, read })
        {
            if (task.Exception is { } e)
            {
                problems.Enqueue($"a reader failed: {e.InnerException}");
            }
        }

        (int _, int _, int intactToServer, int appendedToServer) = flow.ToServer.Snapshot();
        (int _, int _, int intactToClient, int appendedToClient) = flow.ToClient.Snapshot();
        Assert.Multiple(() =>
        {
            Assert.That(problems, Is.Empty, $"{context}: no datagram corrupted, unknown or delivered twice; {flow}");
            // A datagram with bytes appended after an intact record may be delivered (the record is fine) or dropped whole.
            Assert.That(serverGot.Count, Is.InRange(intactToServer, intactToServer + appendedToServer), $"{context}: server deliveries match the relay; {flow}");
            Assert.That(clientGot.Count, Is.InRange(intactToClient, intactToClient + appendedToClient), $"{context}: client deliveries match the relay; {flow}");
            Assert.That(clientGot.Keys.All(serverGot.ContainsKey), Is.True, $"{context}: every echo is of a datagram the server received");
        });
        return $"{context}: {count} sent, {serverGot.Count} reached the server, {clientGot.Count} echoes came back; {flow}";
    }
}
