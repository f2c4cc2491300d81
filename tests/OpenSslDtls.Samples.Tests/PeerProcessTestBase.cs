using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace OpenSslDtls.Samples.Tests;

/// <summary>
/// Starts programs for a test and kills every one of them (by its PID) in teardown; when a test
/// fails, the output of each is attached to the result. Shared with tests/OpenSslDtls.Coap.Tests.
/// </summary>
public abstract class PeerProcessTestBase
{
    /// <summary>Bound on a program getting ready (a cold `dotnet` start included).</summary>
    protected static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Bound on one exchange (handshake and echo) and on a program's exit.</summary>
    protected static readonly TimeSpan ExchangeTimeout = TimeSpan.FromSeconds(30);

    private readonly List<PeerProcess> _processes = [];

    protected static TestPki Pki => TestPki.Shared;

    [TearDown]
    public async Task KillProcessesAsync()
    {
        PeerProcess[] started;
        lock (_processes)
        {
            started = [.. _processes];
            _processes.Clear();
        }

        foreach (PeerProcess process in started)
        {
            await process.DisposeAsync();
            if (TestContext.CurrentContext.Result.Outcome.Status == TestStatus.Failed)
            {
                await TestContext.Out.WriteLineAsync(process.Report());
            }
        }
    }

    protected PeerProcess Start(string fileName, params string[] arguments)
    {
        PeerProcess process = PeerProcess.Start(fileName, arguments);
        lock (_processes)
        {
            _processes.Add(process);
        }

        return process;
    }
}
