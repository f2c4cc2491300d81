using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OpenSslDtls.Listener.Tests.Support;

/// <summary>Keeps every formatted log line, of every category it makes a logger for, with its category, level and event id.</summary>
internal sealed class LineLogger : ILoggerFactory
{
    private readonly ConcurrentQueue<(string Category, LogLevel Level, int EventId, string Line)> _entries = new();

    public string[] Lines => [.. _entries.Select(e => e.Line)];

    public (string Category, LogLevel Level, int EventId, string Line)[] Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new CategoryLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    private sealed class CategoryLogger(LineLogger root, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            root._entries.Enqueue((category, logLevel, eventId.Id, formatter(state, exception)));
    }
}
