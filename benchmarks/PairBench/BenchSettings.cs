namespace OpenSslDtls.PairBench;

/// <summary>The command line of one benchmark process.</summary>
internal sealed class BenchSettings
{
    public string Impl { get; set; } = "ours";

    public string Mode { get; set; } = "hs";

    public string CertFile { get; set; } = "";

    public string KeyFile { get; set; } = "";

    /// <summary>Payload bytes per datagram (echo, bulk, many).</summary>
    public int Size { get; set; } = 64;

    /// <summary>Length of the timed window, after the warm-up.</summary>
    public double Seconds { get; set; } = 1.0;

    public int Port { get; set; }

    public int Peers { get; set; } = 100;

    /// <summary>Many peers: the server's process id, whose CPU (utime + stime in /proc/PID/stat) is read at the timed window's start and end; 0 = not measured.</summary>
    public int ServerPid { get; set; }

    /// <summary>Clock ticks per second of /proc/PID/stat (getconf CLK_TCK).</summary>
    public int ClockTicks { get; set; } = 100;

    public bool Resume => Mode is "resume" or "parts-resume";
}
