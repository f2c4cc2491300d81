using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace OpenSslDtls.PairBench;

/// <summary>
/// The one-way bulk measure's credit window, the same as native/bench.c's (BULK_*): each datagram
/// starts with its sequence number (8 bytes, little-endian) and a flag byte (measured or warm-up);
/// the receiver sends an 8-byte ack holding the highest sequence number it has seen after every
/// <see cref="AckEvery"/> datagrams, on the same session; the sender keeps at most
/// <see cref="Window"/> datagrams unacknowledged. If no ack comes within <see cref="AckTimeout"/>
/// (a lost ack, or lost datagrams that leave the receiver short of its next ack) the sender re-opens
/// the window and counts a stall, so a loss never hangs it. Unpaced, every receiver (plain UDP too)
/// was overrun and lost half of what was sent, and the figure said how fast it drained an overrun
/// socket, not what rate it sustains (docs/benchmarks.md).
/// </summary>
internal static class PacedBulk
{
    public const int AckEvery = 16;

    /// <summary>64 × 1,200 B fit the default 208 KiB socket receive buffer (about 2.3 KiB of kernel memory each).</summary>
    public const int Window = 64;

    public const int AckLength = 8;

    /// <summary>Sequence number (8 bytes) and the flag byte.</summary>
    public const int HeaderLength = 9;

    public static readonly TimeSpan AckTimeout = TimeSpan.FromMilliseconds(20);

    /// <summary>The flag byte of a datagram the receiver counts (warm-up datagrams have 0).</summary>
    public const byte Measured = 1;
}

/// <summary>The sending side of <see cref="PacedBulk"/>: one per bulk run, on the client's session.</summary>
internal sealed class PacedSender(PairImpl impl)
{
    private readonly byte[] _ack = new byte[64];
    private long _sent;
    private long _acked;

    /// <summary>Times the window was re-opened because no ack came within <see cref="PacedBulk.AckTimeout"/>.</summary>
    public long Stalls { get; private set; }

    /// <summary>Waits while the window is full, then sends <paramref name="payload"/> with the next sequence number written into its head.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(byte[] payload, CancellationToken cancellationToken)
    {
        while (_sent - _acked >= PacedBulk.Window)
        {
            int n = await impl.ReceiveAsync(_ack, PacedBulk.AckTimeout, cancellationToken);
            if (n < 0)
            {
                Stalls++;
                _acked = _sent;
            }
            else if (n == PacedBulk.AckLength)
            {
                _acked = Math.Max(_acked, BinaryPrimitives.ReadInt64LittleEndian(_ack));
            }
        }

        BinaryPrimitives.WriteInt64LittleEndian(payload, ++_sent);
        await impl.SendAsync(payload, cancellationToken);
    }
}

/// <summary>The receiving side of <see cref="PacedBulk"/>: counts measured datagrams and says when an ack is due.</summary>
internal sealed class PacedReceiver
{
    private long _highest;
    private long _got;

    /// <summary>The ack to send when <see cref="OnDatagram"/> returned true.</summary>
    public byte[] Ack { get; } = new byte[PacedBulk.AckLength];

    /// <summary>Measured datagrams received.</summary>
    public long Counted { get; private set; }

    /// <summary>Stopwatch timestamp of the last measured datagram.</summary>
    public long Last { get; private set; }

    /// <summary>Takes one received datagram (at least <see cref="PacedBulk.HeaderLength"/> bytes); true when an ack is due, written into <see cref="Ack"/>.</summary>
    public bool OnDatagram(ReadOnlySpan<byte> datagram)
    {
        _highest = Math.Max(_highest, BinaryPrimitives.ReadInt64LittleEndian(datagram));
        if (datagram[8] == PacedBulk.Measured)
        {
            Counted++;
            Last = Stopwatch.GetTimestamp();
        }

        if (++_got % PacedBulk.AckEvery != 0)
        {
            return false;
        }

        BinaryPrimitives.WriteInt64LittleEndian(Ack, _highest);
        return true;
    }
}
