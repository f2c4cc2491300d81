using Microsoft.Extensions.Logging;
using OpenSsl.Dtls;

namespace OpenSslDtls.Samples.EchoServer;

/// <summary>
/// Rotation without a restart: reads the secret files every <see cref="Interval"/> and hands changed
/// content to the running listener (<see cref="DtlsListener.UpdateCookieSecret"/>,
/// <see cref="DtlsListener.UpdateSessionTicketKeys"/>), which keeps the replaced secret working until the
/// next change. Polling rather than a FileSystemWatcher: it sees every way a file is replaced (rename over
/// it, a Kubernetes secret's symlink swap, an editor's in-place write) and costs one small read a second.
/// Content that does not check out (a half-written file, a mode opened to others) is logged and skipped;
/// the previous secret stays in force and the next good content is taken.
/// </summary>
internal sealed class SecretFileWatcher
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly List<(SecretFile File, byte[] Applied)> _files = [];
    private readonly Dictionary<string, string> _lastProblem = new(StringComparer.Ordinal);
    private readonly ILogger _log;

    public SecretFileWatcher(ILogger log) => _log = log;

    public void Add(SecretFile file, byte[] applied) => _files.Add((file, applied));

    public async Task RunAsync(DtlsListener listener, CancellationToken stopping)
    {
        if (_files.Count == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                for (int i = 0; i < _files.Count; i++)
                {
                    (SecretFile file, byte[] applied) = _files[i];
                    byte[]? secret = file.TryRead(out string? error);
                    if (secret is null)
                    {
                        Skipped(file, error!);
                        continue;
                    }

                    _lastProblem.Remove(file.Option);

                    if (secret.AsSpan().SequenceEqual(applied))
                    {
                        continue;
                    }

                    try
                    {
                        if (file.Kind == SecretFileKind.TicketKeys)
                        {
                            listener.UpdateSessionTicketKeys(secret);
                        }
                        else
                        {
                            listener.UpdateCookieSecret(secret);
                        }
                    }
                    catch (ArgumentException e)
                    {
                        // Two ticket keys sharing a name, say: the library names the problem.
                        Skipped(file, $"{file.Option} '{file.Path}': {e.Message}");
                        continue;
                    }

                    _files[i] = (file, secret);
                    EchoLog.SecretFileReloaded(_log, file.Option, file.Path, file.Describe(secret));
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException)
        {
            // The listener stopped.
        }
    }

    /// <summary>Logs a problem once, not on every poll while the file stays as it is.</summary>
    private void Skipped(SecretFile file, string problem)
    {
        if (_lastProblem.TryGetValue(file.Option, out string? last) && last == problem)
        {
            return;
        }

        _lastProblem[file.Option] = problem;
        EchoLog.SecretFileSkipped(_log, problem);
    }
}
