using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;

namespace OpenSslDtls.Tests.Robustness;

/// <summary>
/// The <c>openssl</c> command-line tool (s_client, s_server) as a peer nobody here wrote: stdin open
/// for commands, stdout and stderr collected, every wait bounded, stopped by its PID, its output in
/// every failure message. A missing tool fails on CI (.ci/run installs openssl) and is skipped elsewhere.
/// </summary>
internal sealed class OpenSslCommand : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Progress _progress = new();

    private OpenSslCommand(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static OpenSslCommand Start(params string[] arguments)
    {
        string path = OpenSslDtls.Samples.Tests.ExternalTool.Require("openssl", "openssl");

        var info = new ProcessStartInfo(path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return new OpenSslCommand(Process.Start(info) ?? throw new InvalidOperationException("openssl did not start"));
    }

    /// <summary>A UDP port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    public void WriteLine(string line)
    {
        _process.StandardInput.Write(line + "\n");
        _process.StandardInput.Flush();
    }

    /// <summary>Waits until the output contains <paramref name="text"/> (at least <paramref name="times"/> times).</summary>
    public async Task WaitForAsync(string text, TimeSpan timeout, CancellationToken cancellationToken, int times = 1)
    {
        bool seen = await _progress.WaitUntilAsync(() => Count(text) >= times || _process.HasExited, timeout, cancellationToken);
        if (!seen || Count(text) < times)
        {
            Assert.Fail($"openssl (pid {_process.Id}) did not print '{text}' within {timeout.TotalSeconds:0.#} s{(_process.HasExited ? $" (it exited with {_process.ExitCode})" : string.Empty)}. Its output:\n{Output}");
        }
    }

    public int Count(string text)
    {
        string output = Output;
        int count = 0;
        for (int i = output.IndexOf(text, StringComparison.Ordinal); i >= 0; i = output.IndexOf(text, i + text.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(line).Append('\n');
        }

        _progress.Pulse();
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }
}
