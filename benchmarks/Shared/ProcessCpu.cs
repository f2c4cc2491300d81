using System.Globalization;

namespace OpenSslDtls.Benchmarks.Shared;

/// <summary>Another process's CPU time, read from /proc, so that a client can charge a server only for its timed window.</summary>
internal static class ProcessCpu
{
    /// <summary>utime + stime of a process in clock ticks (proc(5): fields 14 and 15), or 0 when pid is 0.</summary>
    public static long Ticks(int pid)
    {
        if (pid <= 0)
        {
            return 0;
        }

        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // Field 2 (comm) is in parentheses and may hold spaces: count fields after the last ')'.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }
}
