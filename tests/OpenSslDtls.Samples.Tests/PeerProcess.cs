using System.Diagnostics;
using System.Text;
using NUnit.Framework;

namespace OpenSslDtls.Samples.Tests;

/// <summary>
/// A program the tests run: its stdout and stderr are captured line by line, every wait is bounded,
/// and disposing it kills whatever is still running (with its children).
/// </summary>
public sealed class PeerProcess : IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _id;
    private int? _exitCode;
    private bool _disposed;

    private PeerProcess(Process process, string description)
    {
        _process = process;
        Description = description;
    }

    /// <summary>The command line, for messages.</summary>
    public string Description { get; }

    public int Id => _id;

    /// <summary>The exit code once the program has ended (also after <see cref="DisposeAsync"/>), else null.</summary>
    public int? ExitCode
    {
        get
        {
            if (_exitCode is null && !_disposed && _process.HasExited)
            {
                _exitCode = _process.ExitCode;
            }

            return _exitCode;
        }
    }

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

    public string StandardError
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    public static PeerProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // A `dotnet test` host exports MSBuild variables that would steer a child `dotnet build` to the wrong SDK pieces.
        foreach (string name in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach ((string name, string? value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var peer = new PeerProcess(process, $"{Path.GetFileName(fileName)} {string.Join(' ', info.ArgumentList)}");
        process.OutputDataReceived += (_, e) => peer.Append(peer._stdout, peer._stdoutClosed, e.Data);
        process.ErrorDataReceived += (_, e) => peer.Append(peer._stderr, peer._stderrClosed, e.Data);
        process.Start();
        peer._id = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    /// <summary>Writes to the program's stdin (and flushes).</summary>
    public void Write(string text)
    {
        _process.StandardInput.Write(text);
        _process.StandardInput.Flush();
    }

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Waits until <paramref name="condition"/> holds on the captured output; fails with everything captured if it does not in time.</summary>
    public async Task WaitUntilAsync(Func<PeerProcess, bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition(this))
        {
            if (_process.HasExited)
            {
                await DrainAsync().ConfigureAwait(false);
                if (condition(this))
                {
                    return;
                }

                throw new AssertionException($"{what}: the process ended first (exit code {_process.ExitCode}).\n{Report()}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new AssertionException($"{what}: not within {timeout.TotalSeconds} s.\n{Report()}");
            }

            await Task.Delay(PollInterval).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One whole <c>openssl s_client</c> connection: waits for its handshake ("Cipher is"), writes
    /// <paramref name="line"/> and waits until the server's echo of it comes back (s_client prints
    /// "New, ..." even for a failed handshake, PEERS.md: the echo is the proof), ends its input and
    /// waits for it to exit. Returns its stdout (with the SSL-Session block).
    /// </summary>
    public async Task<string> EchoLineAndCloseAsync(string line, TimeSpan timeout)
    {
        await WaitUntilAsync(p => p.StandardOutput.Contains("Cipher is", StringComparison.Ordinal), timeout, "s_client's handshake").ConfigureAwait(false);
        Write(line + "\n");
        await WaitUntilAsync(p => p.StandardOutput.Split('\n').Any(l => l.TrimEnd('\r') == line), timeout, $"the echo of {line}").ConfigureAwait(false);
        CloseInput();
        await WaitForExitAsync(timeout).ConfigureAwait(false);
        return StandardOutput;
    }

    /// <summary>Waits for a stdout line starting with <paramref name="prefix"/> and returns it.</summary>
    public async Task<string> WaitForOutputLineAsync(string prefix, TimeSpan timeout)
    {
        string? found = null;
        await WaitUntilAsync(
            p => (found = p.StandardOutput.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))) is not null,
            timeout,
            $"a line '{prefix}...' on stdout").ConfigureAwait(false);
        return found!.TrimEnd('\r');
    }

    /// <summary>Waits for the exit and for the last output; returns the exit code. Fails (the process is then killed by Dispose) on timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new AssertionException($"the process did not exit within {timeout.TotalSeconds} s.\n{Report()}");
        }

        await DrainAsync().ConfigureAwait(false);
        return _process.ExitCode;
    }

    /// <summary>Sends a POSIX signal (SIGTERM by default) through kill(1).</summary>
    public async Task SignalAsync(string signal = "TERM")
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await kill.WaitForExitAsync(cts.Token).ConfigureAwait(false);
    }

    /// <summary>The command, exit status and all output: what an assertion message needs.</summary>
    public string Report() =>
        $"--- {Description} (pid {_id}{(ExitCode is { } code ? $", exit code {code}" : ", running")})\n" +
        $"--- stdout:\n{StandardOutput}--- stderr:\n{StandardError}---";

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            _ = ExitCode; // kept for Report() after disposal
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or stuck in the kernel: nothing more a test can do.
        }

        _disposed = true;
        _process.Dispose();
    }

    private void Append(StringBuilder buffer, TaskCompletionSource closed, string? line)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }

        lock (_gate)
        {
            buffer.Append(line).Append('\n');
        }
    }

    private async Task DrainAsync()
    {
        // The exit can be seen before the last lines are read; wait (briefly) for both streams to close.
        await Task.WhenAny(Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
    }
}
