using System.Runtime.InteropServices;

namespace OpenSsl.Interop;

/// <summary>
/// C's <c>struct timeval</c> as OpenSSL's DTLS ctrls read and write it. Both fields are
/// <c>long</c>-sized on LP64 Unix; on Windows <c>long</c> is 32 bits (see <see cref="CLong"/>).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct TimeVal
{
    /// <summary><c>tv_sec</c></summary>
    public CLong Seconds;

    /// <summary><c>tv_usec</c></summary>
    public CLong Microseconds;

    /// <summary>The interval as a <see cref="TimeSpan"/>.</summary>
    public readonly TimeSpan ToTimeSpan() =>
        TimeSpan.FromSeconds((long)Seconds.Value) + TimeSpan.FromMicroseconds((long)Microseconds.Value);

    /// <summary>Builds a timeval from a non-negative interval.</summary>
    public static TimeVal From(TimeSpan value)
    {
        long micros = Math.Max(0, value.Ticks / (TimeSpan.TicksPerMillisecond / 1000));
        return new TimeVal { Seconds = new CLong((nint)(micros / 1_000_000)), Microseconds = new CLong((nint)(micros % 1_000_000)) };
    }
}
