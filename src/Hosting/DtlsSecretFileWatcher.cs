using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace OpenSsl.Dtls.Hosting;

/// <summary>
/// Rotation without a restart: reads the watched <see cref="DtlsSecretFile"/>s every <see cref="PollInterval"/>
/// and hands changed content to the running listeners (<see cref="DtlsListener.UpdateCookieSecret"/>,
/// <see cref="DtlsListener.UpdateSessionTicketKeys"/>), which keep the replaced secret verifying until the
/// next change: one rotation period (docs/deployment.md). Used by <see cref="DtlsListenerService"/> for
/// <see cref="DtlsHostedListenerOptions.CookieSecretFile"/>/<see cref="DtlsHostedListenerOptions.TicketKeysFile"/>
/// and by the EchoServer sample.
/// </summary>
/// <remarks>
/// Polling rather than a <see cref="FileSystemWatcher"/>: it sees every way a file is replaced (a rename over
/// it, a Kubernetes secret's symlink swap, an editor's in-place write) and costs one small read per file per
/// interval. Content that does not check out (a half-written file, a mode opened to others, two ticket keys
/// with one name) is logged once as a warning and skipped; the previous secret stays in force and the next good
/// content is taken (logged as reloaded), or, when the file returns to the secret in force, that is logged
/// (Information, "checks out again ... applied again"). Add every file with <see cref="Load"/> or <see cref="Watch"/> before <see cref="RunAsync"/>;
/// the instance is not meant to be shared between threads before then.
/// </remarks>
public sealed partial class DtlsSecretFileWatcher
{
    /// <summary>How often the files are read: once a second.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly List<(DtlsSecretFile File, byte[] Applied)> _files = [];
    private readonly Dictionary<string, string> _lastProblem = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates a watcher with no files.</summary>
    /// <param name="logger">Where loads, reloads and skipped changes are logged (never the secrets, only sizes, fingerprints and ticket key names); null for none.</param>
    /// <param name="timeProvider">The clock of the poll (a listener's <see cref="DtlsListenerOptions.TimeProvider"/>, so that tests can drive it); null for <see cref="TimeProvider.System"/>.</param>
    public DtlsSecretFileWatcher(ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Reads <paramref name="file"/> now (see <see cref="DtlsSecretFile.Read"/>), logs it as loaded and watches it.</summary>
    /// <param name="file">The file.</param>
    /// <returns>The secret to give the listener at creation.</returns>
    /// <exception cref="ArgumentException">The file cannot be read or does not check out; the message names the option, the file and the problem, and <see cref="ArgumentException.ParamName"/> is <see cref="DtlsSecretFile.Option"/>.</exception>
    public byte[] Load(DtlsSecretFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        byte[] secret = file.Read();
        Watch(file, secret);
        return secret;
    }

    /// <summary>Watches <paramref name="file"/>, whose content <paramref name="applied"/> the listener was created with, and logs it as loaded.</summary>
    /// <param name="file">The file.</param>
    /// <param name="applied">The secret read from it (<see cref="DtlsSecretFile.TryRead"/>); a change is a content different from this.</param>
    public void Watch(DtlsSecretFile file, byte[] applied)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(applied);
        _files.Add((file, applied));
        Log.Loaded(_logger, file.Option, file.Path, file.Describe(applied));
    }

    /// <summary>
    /// Polls the files until <paramref name="cancellationToken"/> is cancelled or a listener is disposed,
    /// applying each change to every listener in <paramref name="listeners"/>. Returns at once when no file is watched.
    /// </summary>
    /// <param name="listeners">The listeners that share the secrets (one per endpoint for a hosted listener).</param>
    /// <param name="cancellationToken">Stops the polling; the returned task then completes without an exception.</param>
    /// <returns>A task that completes when the polling stops; it never faults for a bad file (those are logged).</returns>
    public async Task RunAsync(IReadOnlyList<DtlsListener> listeners, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(listeners);
        if (_files.Count == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(PollInterval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                for (int i = 0; i < _files.Count; i++)
                {
                    (DtlsSecretFile file, byte[] applied) = _files[i];
                    if (!file.TryRead(out byte[]? secret, out string? problem))
                    {
                        Skipped(file, problem);
                        continue;
                    }

                    if (secret.AsSpan().SequenceEqual(applied))
                    {
                        if (_lastProblem.Remove(file.Option))
                        {
                            // Back to the secret in force after an ignored change: say so, or the last word in the log is the warning.
                            Log.Recovered(_logger, file.Option, file.Path, file.Describe(secret));
                        }

                        continue;
                    }

                    try
                    {
                        foreach (DtlsListener listener in listeners)
                        {
                            if (file.Kind == DtlsSecretKind.SessionTicketKeys)
                            {
                                listener.UpdateSessionTicketKeys(secret);
                            }
                            else
                            {
                                listener.UpdateCookieSecret(secret);
                            }
                        }
                    }
                    catch (Exception e) when (e is ArgumentException or (InvalidOperationException and not ObjectDisposedException))
                    {
                        // Two ticket keys sharing a name, or ticket keys for a listener created without any
                        // (OpenSSL's random keys cannot be replaced): the library names the problem. It is checked
                        // before anything changes, so the first listener refuses and none was updated.
                        Skipped(file, $"{file.Option} '{file.Path}': {e.Message}");
                        continue;
                    }

                    _lastProblem.Remove(file.Option);
                    _files[i] = (file, secret);
                    Log.Reloaded(_logger, file.Option, file.Path, file.Describe(secret));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException)
        {
            // A listener stopped.
        }
    }

    /// <summary>Logs a problem once, not on every poll while the file stays as it is.</summary>
    private void Skipped(DtlsSecretFile file, string problem)
    {
        if (_lastProblem.TryGetValue(file.Option, out string? last) && last == problem)
        {
            return;
        }

        _lastProblem[file.Option] = problem;
        Log.Skipped(_logger, problem);
    }

    private static partial class Log
    {
        [LoggerMessage(101, LogLevel.Information, "{Option} '{Path}' loaded: {Description}")]
        public static partial void Loaded(ILogger logger, string option, string path, string description);

        [LoggerMessage(102, LogLevel.Information, "{Option} '{Path}' reloaded: {Description}; the previous one keeps working until the next change")]
        public static partial void Reloaded(ILogger logger, string option, string path, string description);

        [LoggerMessage(103, LogLevel.Warning, "secret file change ignored, the previous secret stays in force: {Problem}")]
        public static partial void Skipped(ILogger logger, string problem);

        [LoggerMessage(104, LogLevel.Information, "{Option} '{Path}' checks out again and holds the secret in force ({Description}): secret file applied again, the ignored change is over")]
        public static partial void Recovered(ILogger logger, string option, string path, string description);
    }
}
