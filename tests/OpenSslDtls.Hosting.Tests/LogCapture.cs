using Microsoft.Extensions.Logging;

namespace OpenSslDtls.Hosting.Tests;

/// <summary>Keeps every formatted log message of a host, and lets a test wait (bounded) for one.</summary>
internal sealed class LogCapture : ILoggerProvider, ILogger
{
    private readonly List<string> _messages = [];
    private readonly List<LogLevel> _levels = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>Waits until <paramref name="done"/> holds for the messages so far, or fails after <paramref name="timeout"/> listing them.</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<string>, bool> done, TimeSpan timeout, string what)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task changed;
            lock (_messages)
            {
                if (done(_messages))
                {
                    return;
                }

                changed = _changed.Task;
            }

            TimeSpan left = deadline - DateTime.UtcNow;
            try
            {
                await changed.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"no log for {what} within {timeout}; logged:\n{string.Join('\n', Messages)}");
            }
        }
    }

    /// <summary>The messages logged at <paramref name="level"/> or above.</summary>
    public IReadOnlyList<string> AtOrAbove(LogLevel level)
    {
        lock (_messages)
        {
            return [.. _messages.Where((_, i) => _levels[i] >= level)];
        }
    }

    public int Count(string part) => Messages.Count(m => m.Contains(part, StringComparison.Ordinal));

    ILogger ILoggerProvider.CreateLogger(string categoryName) => this;

    void IDisposable.Dispose()
    {
    }

    IDisposable? ILogger.BeginScope<TState>(TState state) => null;

    bool ILogger.IsEnabled(LogLevel logLevel) => true;

    void ILogger.Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_messages)
        {
            _messages.Add(formatter(state, exception));
            _levels.Add(logLevel);
            TaskCompletionSource changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.SetResult();
        }
    }
}
