using System.Diagnostics;
using System.Text;
using NUnit.Framework;

namespace OpenSslDtls.Tests.Peers;

/// <summary>
/// The <c>openssl</c> command line tool of the OpenSSL under test (in the version matrix, the suite's own:
/// .ci/openssl-versions.sh), run as a peer nobody here wrote: stdin kept open, stdout and stderr collected,
/// waits bounded, stopped by PID on dispose, its output in every failure message.
/// </summary>
internal sealed class OpenSslCliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _changed = new(0);
    private int _closedStreams;

    private OpenSslCliProcess(Process process) => _process = process;

    /// <summary>Standard output so far.</summary>
    public string StandardOutput
    {
        get
        {
            lock (_gate)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <summary>Finds <c>openssl</c> on PATH; on CI (CI=true) its absence fails the test, elsewhere it skips it saying how to install.</summary>
    public static string Require() => OpenSslDtls.Samples.Tests.ExternalTool.Require("openssl", "openssl");

    public static OpenSslCliProcess Start(params string[] arguments)
    {
        var start = new ProcessStartInfo(Require())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        var peer = new OpenSslCliProcess(process);
        process.OutputDataReceived += (_, e) => peer.Append(peer._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => peer.Append(peer._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    /// <summary>Writes a line to the tool's stdin (s_client and s_server send what they read there).</summary>
    public void WriteLine(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Waits until stdout satisfies <paramref name="condition"/>; fails with the tool's output after <paramref name="timeout"/>.</summary>
    public async Task WaitForOutputAsync(Func<string, bool> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (!condition(StandardOutput))
        {
            TimeSpan left = timeout - clock.Elapsed;
            // Each line the tool prints releases _changed once; once both streams ended, nothing more will come.
            if (left <= TimeSpan.Zero || Volatile.Read(ref _closedStreams) == 2 || !await _changed.WaitAsync(left, cancellationToken))
            {
                Assert.Fail($"openssl: no {what} within {timeout.TotalSeconds:0} s{(_process.HasExited ? $" (exited {_process.ExitCode})" : string.Empty)}. {Describe()}");
            }
        }
    }

    /// <summary>The command line and everything the tool printed, for failure messages.</summary>
    public string Describe()
    {
        lock (_gate)
        {
            return $"{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)}{Environment.NewLine}stdout:{Environment.NewLine}{_stdout}stderr:{Environment.NewLine}{_stderr}";
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            // WaitForExit() without a timeout also waits for the redirected streams to reach their end, so no
            // output event runs after this; the bounded wait first keeps a stuck process from holding the test.
            if (_process.WaitForExit(5_000))
            {
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }

        _process.Dispose();
        // _changed is not disposed: it holds no wait handle, and an output event could still be in flight if
        // the process did not exit within the bound above.
    }

    private void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            Interlocked.Increment(ref _closedStreams); // stdout and stderr each end with one null line
        }
        else
        {
            lock (_gate)
            {
                builder.AppendLine(line);
            }
        }

        _changed.Release();
    }
}
